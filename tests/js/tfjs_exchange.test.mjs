// TF.js parity of ttypong's model exchange: models exported by ttypong load
// in TF.js and predict the same, and models saved by TF.js (Sequential and
// functional, sharded, with optimizer state) import into ttypong and predict
// the same. ttypong runs through build/release/tests/tfjs_driver.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { dirLoader, dirSaver } from './tfjs_files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const driver = path.join(root, 'build/release/tests/tfjs_driver');
const TOLERANCE = 1e-5;
let work;

before(async () => {
	assert.ok(fs.existsSync(driver), `${driver} is missing; build it with make build/release/tests/tfjs_driver`);
	await tf.setBackend('cpu');
	work = fs.mkdtempSync(path.join(os.tmpdir(), 'ttypong-tfjs-'));
});

// Deterministic feature rows spread over [-2, 2].
function featureRows(n) {
	const rows = [];
	for (let i = 0; i < n; i++)
		rows.push(Array.from({ length: 6 }, (_, j) => Math.sin(1.7 * i + 0.9 * j + 0.3) * 2));
	return rows;
}

function ttypongPredict(modelPath, rows) {
	const input = 'f1,f2,f3,f4,f5,f6\n' + rows.map((r) => r.join(',')).join('\n') + '\n';
	const out = execFileSync(driver, ['import', modelPath], { input, encoding: 'utf8' });
	return out.trim().split('\n').slice(1).map((line) => line.split(',').slice(0, 3).map(Number));
}

function assertClose(actual, expected, label) {
	assert.equal(actual.length, expected.length, `${label}: row count`);
	for (let i = 0; i < expected.length; i++)
		for (let j = 0; j < expected[i].length; j++)
			assert.ok(Math.abs(actual[i][j] - expected[i][j]) <= TOLERANCE,
				`${label}: row ${i} class ${j}: ttypong ${actual[i][j]} vs TF.js ${expected[i][j]}`);
}

test('ttypong export loads in TF.js and predicts the same', async () => {
	const dir = path.join(work, 'exported');
	execFileSync(driver, ['export', dir, '1234']);

	const model = await tf.loadLayersModel(dirLoader(dir));
	assert.deepEqual(model.inputs[0].shape, [null, 6], 'input shape');
	assert.deepEqual(model.outputs[0].shape, [null, 3], 'output shape');
	assert.deepEqual(model.layers.map((l) => l.getClassName()),
		['Dense', 'Dropout', 'Dense', 'Dropout', 'Dense'], 'layer classes');
	const meta = model.getUserDefinedMetadata().ttypong;
	assert.deepEqual(meta.classes, ['up', 'stay', 'down'], 'class names in metadata');
	assert.equal(meta.features.length, 6, 'feature names in metadata');

	const rows = featureRows(40);
	const expected = model.predict(tf.tensor2d(rows)).arraySync();
	assertClose(ttypongPredict(dir, rows), expected, 'exported model');
});

test('ttypong exports of every hidden activation match TF.js', async () => {
	for (const act of ['linear', 'selu', 'tanh', 'sigmoid', 'softmax']) {
		const dir = path.join(work, `exported-${act}`);
		execFileSync(driver, ['export', dir, '99', act]);

		const model = await tf.loadLayersModel(dirLoader(dir));
		assert.equal(model.layers[0].getConfig().activation, act, `${act}: activation in TF.js`);
		const rows = featureRows(20);
		const expected = model.predict(tf.tensor2d(rows)).arraySync();
		assertClose(ttypongPredict(dir, rows), expected, `${act} model`);
	}
});

async function trainedWithOptimizer(model) {
	model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
	const x = tf.tensor2d(featureRows(8));
	const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
	await model.fit(x, y, { epochs: 1, batchSize: 8 });
}

test('TF.js Sequential with optimizer weights in 3 shards imports', async () => {
	const model = tf.sequential();
	model.add(tf.layers.dense({ inputShape: [6], units: 16, activation: 'relu' }));
	model.add(tf.layers.dropout({ rate: 0.3 }));
	model.add(tf.layers.dense({ units: 8, activation: 'tanh' }));
	model.add(tf.layers.alphaDropout({ rate: 0.1 }));
	model.add(tf.layers.dense({ units: 8, activation: 'selu', useBias: false }));
	model.add(tf.layers.gaussianDropout({ rate: 0.2 }));
	model.add(tf.layers.dense({ units: 8, activation: 'sigmoid' }));
	model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
	await trainedWithOptimizer(model);
	const dir = path.join(work, 'tfjs-sequential');
	await model.save(dirSaver(dir, { shards: 3 }), { includeOptimizer: true });

	const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
	assert.equal(json.weightsManifest[0].paths.length, 3, 'three weight files');
	assert.ok(json.weightsManifest[0].weights.some((w) => w.group === 'optimizer'),
		'the manifest carries optimizer weights');

	const rows = featureRows(40);
	const expected = model.predict(tf.tensor2d(rows)).arraySync();
	assertClose(ttypongPredict(path.join(dir, 'model.json'), rows), expected, 'TF.js Sequential');
});

test('TF.js functional chain in 2 groups imports', async () => {
	const input = tf.input({ shape: [6] });
	let x = tf.layers.dense({ units: 12, activation: 'relu' }).apply(input);
	x = tf.layers.dropout({ rate: 0.5 }).apply(x);
	x = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(x);
	const model = tf.model({ inputs: input, outputs: x });
	await trainedWithOptimizer(model);
	const dir = path.join(work, 'tfjs-functional');
	await model.save(dirSaver(dir, { shards: 2, groups: 2 }), { includeOptimizer: true });

	const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
	assert.equal(json.modelTopology.class_name, 'Model', 'functional topology');
	assert.equal(json.weightsManifest.length, 2, 'two manifest groups');

	// TF.js itself reads the files back the same way.
	const reloaded = await tf.loadLayersModel(dirLoader(dir));
	const rows = featureRows(40);
	const expected = model.predict(tf.tensor2d(rows)).arraySync();
	assertClose(reloaded.predict(tf.tensor2d(rows)).arraySync(), expected, 'TF.js reload');
	assertClose(ttypongPredict(dir, rows), expected, 'TF.js functional');
});

test('TF.js model with a convolution is rejected by name', async () => {
	const model = tf.sequential();
	model.add(tf.layers.reshape({ inputShape: [6], targetShape: [6, 1] }));
	model.add(tf.layers.conv1d({ filters: 2, kernelSize: 3 }));
	model.add(tf.layers.flatten());
	model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
	const dir = path.join(work, 'tfjs-conv');
	await model.save(dirSaver(dir));

	assert.throws(() => execFileSync(driver, ['import', dir], { input: '', stdio: 'pipe' }),
		(e) => /layer 1 '.*': layer type Reshape is not supported/.test(String(e.stderr)),
		'the error names the first unsupported layer');
});
