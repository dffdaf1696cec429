// The export command against real TF.js: a model version exported with
// `ttypong export` loads with tf.loadLayersModel, carries the metadata the
// browser page reads, and predicts what `ttypong predict` prints within 1e-5.
// Runs the built ./ttypong.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { dirLoader } from './tfjs_files.mjs';
import { FEATURE_NAMES, CLASS_NAMES } from '../../assets/web/core.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'ttypong');
const TOLERANCE = 1e-5;
let work;
let db;

function ttypong(args, input) {
	return execFileSync(bin, args, { input, encoding: 'utf8', cwd: work });
}

before(async () => {
	assert.ok(fs.existsSync(bin), `${bin} is missing; build it with make`);
	await tf.setBackend('cpu');
	work = fs.mkdtempSync(path.join(os.tmpdir(), 'ttypong-xfer-'));
	db = path.join(work, 'save.db');
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

// Feature rows over the range the game produces, and beyond it.
function featureRows(n) {
	const rows = [];
	for (let i = 0; i < n; i++)
		rows.push(Array.from({ length: 6 }, (_, j) => Math.sin(1.3 * i + 0.7 * j + 0.1) * 1.5));
	return rows;
}

function parsePredictions(text) {
	const lines = text.trim().split('\n');
	assert.equal(lines[0], 'up,stay,down,class', 'predict header');
	return lines.slice(1).map((line) => line.split(',').slice(0, 3).map(Number));
}

// Exports version id to a directory, loads it in TF.js, checks the metadata
// and compares TF.js's predictions with `ttypong predict --model id`.
async function checkExport(id) {
	const dir = path.join(work, `export-${id}`);
	ttypong(['export', '--format', 'tfjs', '--model', id, '--out', dir, '--db', db]);

	const model = await tf.loadLayersModel(dirLoader(dir));
	assert.deepEqual(model.inputs[0].shape, [null, 6], 'input shape');
	assert.deepEqual(model.outputs[0].shape, [null, 3], 'output shape');
	const meta = model.getUserDefinedMetadata().ttypong;
	assert.deepEqual(meta.features, FEATURE_NAMES, 'feature names are the page\'s');
	assert.deepEqual(meta.classes, CLASS_NAMES, 'class names are the page\'s');
	assert.equal(meta.model_id, id, 'model version id');

	const rows = featureRows(50);
	const csv = FEATURE_NAMES.join(',') + '\n' + rows.map((r) => r.join(',')).join('\n') + '\n';
	const fromId = parsePredictions(ttypong(['predict', '--model', id, '--db', db], csv));
	const expected = model.predict(tf.tensor2d(rows)).arraySync();
	assert.equal(fromId.length, expected.length, 'row count');
	for (let i = 0; i < expected.length; i++)
		for (let j = 0; j < 3; j++)
			assert.ok(Math.abs(fromId[i][j] - expected[i][j]) <= TOLERANCE,
				`row ${i} class ${j}: ttypong ${fromId[i][j]} vs TF.js ${expected[i][j]}`);
}

for (const fixture of ['keras3', 'keras3_functional']) {
	test(`export of an imported ${fixture} model matches TF.js`, async () => {
		const id = ttypong(['import', path.join(root, 'tests/data/tfjs', fixture), '--db', db]).trim();
		assert.match(id, /^[0-9]+$/, 'import prints the new id');
		await checkExport(id);
	});
}

test('export of a trained version matches TF.js', async () => {
	ttypong(['train', '--rounds', '2', '--epochs', '2', '--seed', '7', '--db', db]);
	const out = ttypong(['models', '--db', db]);
	const ids = [...out.matchAll(/^\s*([0-9]+)\s/gm)].map((m) => m[1]);
	assert.ok(ids.length > 0, `models lists no version: ${out}`);
	await checkExport(ids[ids.length - 1]);
});
