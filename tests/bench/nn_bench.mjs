// Speed of the reference network in TF.js under Node, for run.sh.
//
//   node tests/bench/nn_bench.mjs cpu|wasm
//
// Same model, data formula, batches and figure names as nn_bench.c; prints
// "name value unit" lines. Training uses model.fit without shuffling, and
// inference model.predict on one sample followed by dataSync. Rates are per
// second of process CPU time (all threads), as in nn_bench.c.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

const SAMPLES = 65536;
const MUL = [7919, 104729, 1299709, 15485863, 179424673, 2038074743];
const ADD = [0, 17, 101, 313, 557, 907];
const MACS = 6 * 64 + 64 * 64 + 64 * 3;
const TRAIN_FLOP = 2 * (3 * MACS - 6 * 64);

// Returns the process's CPU time, user and system, in ms.
function cpuMs() {
	const usage = process.cpuUsage();

	return (usage.user + usage.system) / 1000;
}

// Returns inputs and one-hot labels from the formula nn_bench.c states.
function makeData() {
	const x = new Float32Array(SAMPLES * 6);
	const y = new Float32Array(SAMPLES * 3);

	for (let i = 0; i < SAMPLES; i++) {
		for (let j = 0; j < 6; j++)
			x[i * 6 + j] = ((i * MUL[j] + ADD[j]) % 1009) / 504.5 - 1;
		const diff = Math.fround(x[i * 6] - x[i * 6 + 1]);
		const cls = diff > Math.fround(0.3) ? 0 : diff < Math.fround(-0.3) ? 2 : 1;
		y[i * 3 + cls] = 1;
	}
	return { x: tf.tensor2d(x, [SAMPLES, 6]), y: tf.tensor2d(y, [SAMPLES, 3]) };
}

function makeModel() {
	const model = tf.sequential();

	model.add(tf.layers.dense({ inputShape: [6], units: 64, activation: 'relu' }));
	model.add(tf.layers.dropout({ rate: 0.5 }));
	model.add(tf.layers.dense({ units: 64, activation: 'relu' }));
	model.add(tf.layers.dropout({ rate: 0.5 }));
	model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
	model.compile({
		optimizer: tf.train.adam(1e-3, 0.9, 0.999, 1e-7),
		loss: 'categoricalCrossentropy',
	});
	return model;
}

// Returns samples/s of one timed epoch, after an untimed pass over 2048 samples.
async function benchTrain(model, data, batchSize) {
	const opts = { batchSize, epochs: 1, shuffle: false, verbose: 0 };
	const warmX = data.x.slice([0, 0], [2048, 6]);
	const warmY = data.y.slice([0, 0], [2048, 3]);

	await model.fit(warmX, warmY, opts);
	tf.dispose([warmX, warmY]);
	const start = cpuMs();
	await model.fit(data.x, data.y, opts);
	return SAMPLES / ((cpuMs() - start) / 1000);
}

// Returns the mean ns of one eval-mode prediction of one sample.
function benchPredict(model, calls) {
	const rows = new Float32Array(6 * 1024);

	for (let i = 0; i < rows.length; i++)
		rows[i] = ((i * 7919) % 1009) / 504.5 - 1;
	const once = (i) => tf.tidy(() => {
		const input = tf.tensor2d(rows.subarray((i % 1024) * 6, (i % 1024) * 6 + 6), [1, 6]);
		return model.predict(input).dataSync()[0];
	});
	for (let i = 0; i < 200; i++)
		once(i);
	const start = cpuMs();
	for (let i = 0; i < calls; i++)
		once(i);
	return (cpuMs() - start) * 1e6 / calls;
}

async function main() {
	const backend = process.argv[2] || 'cpu';

	if (backend === 'wasm') {
		const here = path.dirname(fileURLToPath(import.meta.url));
		setWasmPaths(path.join(here, '../node_modules/@tensorflow/tfjs-backend-wasm/dist') + path.sep);
	}
	if (!(await tf.setBackend(backend))) {
		console.log(`nn_bench.mjs: skipped, TF.js backend ${backend} failed to start`);
		return;
	}
	await tf.ready();
	tf.randomUniform([1]).dispose();

	const data = makeData();
	const rate32 = await benchTrain(makeModel(), data, 32);
	const model = makeModel();
	const rate256 = await benchTrain(model, data, 256);

	console.log(`nn_train_b32 ${rate32.toFixed(0)} samples/s`);
	console.log(`nn_train_b256 ${rate256.toFixed(0)} samples/s`);
	console.log(`nn_infer_1 ${benchPredict(model, 5000).toFixed(1)} ns`);
	console.log(`nn_train_flop ${TRAIN_FLOP} FLOP/sample`);
	console.log(`nn_gflops_b32 ${(rate32 * TRAIN_FLOP / 1e9).toFixed(2)} GFLOP/s`);
	console.log(`nn_gflops_b256 ${(rate256 * TRAIN_FLOP / 1e9).toFixed(2)} GFLOP/s`);
}

await main();
