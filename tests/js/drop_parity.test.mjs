// Eval-mode parity of the dropout variants with TF.js (cpu backend).
//
// The first tests run each ttypong model through
// build/release/tests/nn_driver and build the model it exports as by hand:
// the real AlphaDropout, GaussianDropout and SpatialDropout1D layers (the
// last between a Reshape to [steps, channels] and a Flatten), and a plain
// Dense layer for DropConnect, ConcreteDropout and VariationalDropout. The
// later tests export through ttypong's writer (build/release/tests/
// tfjs_driver), load the files in TF.js, and import them back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs, { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { dirLoader } from './tfjs_files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const driver = path.join(root, 'build/release/tests/nn_driver');
const exchange = path.join(root, 'build/release/tests/tfjs_driver');
const TOLERANCE = 1e-5;
const STEPS = 4;
const CHANNELS = 6;

await tf.setBackend('cpu');

// mulberry32, so every run uses the same weights and inputs.
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(next, count, lo, hi) {
  return Float32Array.from({ length: count }, () => lo + (hi - lo) * next());
}

function runDriver(job) {
  assert.ok(existsSync(driver), `${driver} is missing: run make build/release/tests/nn_driver`);
  const result = spawnSync(driver, { input: JSON.stringify(job), encoding: 'utf8' });
  assert.equal(result.status, 0, `nn_driver failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

// The ttypong description of a small model with `variant` in the middle.
function description(variant) {
  const dense = (units, activation) => ({ kind: 'Dense', units, activation });
  const inputs = STEPS * CHANNELS;
  switch (variant) {
    case 'AlphaDropout':
      return { inputs, layers: [dense(16, 'selu'), { kind: variant, rate: 0.2 }, dense(3, 'softmax')] };
    case 'GaussianDropout':
      return { inputs, layers: [dense(16, 'relu'), { kind: variant, rate: 0.4 }, dense(3, 'softmax')] };
    case 'SpatialDropout1D':
      return { inputs, layers: [{ kind: variant, rate: 0.3, steps: STEPS }, dense(16, 'relu'), dense(3, 'softmax')] };
    default:
      return {
        inputs,
        layers: [dense(16, 'tanh'), { kind: variant, units: 12, activation: 'relu', rate: 0.3 },
          { kind: variant, units: 3, activation: 'softmax', rate: 0.3 }],
      };
  }
}

// The TF.js model the variant exports as.
function tfModel(desc) {
  const model = tf.sequential();
  const first = (i) => (i === 0 ? { inputShape: [desc.inputs] } : {});
  desc.layers.forEach((layer, i) => {
    if (layer.kind === 'AlphaDropout') {
      model.add(tf.layers.alphaDropout({ rate: layer.rate, ...first(i) }));
    } else if (layer.kind === 'GaussianDropout') {
      model.add(tf.layers.gaussianDropout({ rate: layer.rate, ...first(i) }));
    } else if (layer.kind === 'SpatialDropout1D') {
      model.add(tf.layers.reshape({ targetShape: [layer.steps, desc.inputs / layer.steps], ...first(i) }));
      model.add(tf.layers.spatialDropout1d({ rate: layer.rate }));
      model.add(tf.layers.flatten());
    } else {
      model.add(tf.layers.dense({ units: layer.units, activation: layer.activation, ...first(i) }));
    }
  });
  return tf.models.modelFromJSON(model.toJSON(null, false));
}

for (const variant of ['AlphaDropout', 'GaussianDropout', 'SpatialDropout1D',
  'DropConnect', 'ConcreteDropout', 'VariationalDropout']) {
  test(`${variant} in eval mode matches its TF.js export`, async () => {
    const next = generator(variant.length * 7919);
    const desc = description(variant);
    const model = await tfModel(desc);
    const shapes = model.getWeights().map((w) => w.shape);
    const weights = shapes.map((s) => uniform(next, s.reduce((a, b) => a * b, 1), -0.5, 0.5));
    const rows = 5;
    const x = uniform(next, rows * desc.inputs, -1, 1);

    model.setWeights(weights.map((w, i) => tf.tensor(w, shapes[i])));
    const ours = runDriver({ model: desc, weights: weights.map((w) => Array.from(w)), x: Array.from(x), n: rows });
    const theirs = model.predict(tf.tensor2d(x, [rows, desc.inputs])).dataSync();

    assert.equal(ours.y.length, theirs.length, 'output length differs');
    for (let k = 0; k < theirs.length; k++) {
      assert.ok(Math.abs(ours.y[k] - theirs[k]) <= TOLERANCE,
        `${variant} output ${k}: ttypong ${ours.y[k]}, TF.js ${theirs[k]}`);
    }
  });
}

test('TF.js names the exported noise layers as ttypong does', () => {
  const model = tf.sequential();
  model.add(tf.layers.alphaDropout({ rate: 0.1, inputShape: [STEPS * CHANNELS] }));
  model.add(tf.layers.gaussianDropout({ rate: 0.2 }));
  model.add(tf.layers.reshape({ targetShape: [STEPS, CHANNELS] }));
  model.add(tf.layers.spatialDropout1d({ rate: 0.3 }));
  const layers = model.toJSON(null, false).config.layers;
  const byClass = Object.fromEntries(layers.map((l) => [l.class_name, l.config]));

  for (const [name, rate] of [['AlphaDropout', 0.1], ['GaussianDropout', 0.2], ['SpatialDropout1D', 0.3]]) {
    assert.ok(byClass[name], `TF.js has no ${name} class`);
    assert.equal(byClass[name].rate, rate, `${name} does not keep its rate under "rate"`);
  }
});

// ---- Through ttypong's exporter ----

const EXPORTED = {
  AlphaDropout: ['Dense', 'AlphaDropout', 'Dense'],
  GaussianDropout: ['Dense', 'GaussianDropout', 'Dense'],
  SpatialDropout1D: ['Reshape', 'SpatialDropout1D', 'Flatten', 'Dense', 'Dense'],
  DropConnect: ['Dense', 'Dense', 'Dense'],
  ConcreteDropout: ['Dense', 'Dense', 'Dense'],
  VariationalDropout: ['Dense', 'Dense', 'Dense'],
};

function featureRows(n) {
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: 6 }, (_, j) => Math.sin(1.3 * i + 0.7 * j + 0.1) * 1.5));
}

function csv(rows) {
  return 'f1,f2,f3,f4,f5,f6\n' + rows.map((r) => r.join(',')).join('\n') + '\n';
}

function probabilities(text) {
  return text.trim().split('\n').slice(1).map((line) => line.split(',').slice(0, 3).map(Number));
}

function assertRowsClose(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: row count`);
  expected.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(actual[i][j] - v) <= TOLERANCE,
    `${what}: row ${i} class ${j}: ${actual[i][j]} vs ${v}`)));
}

for (const [variant, classes] of Object.entries(EXPORTED)) {
  test(`${variant} export loads in TF.js and predicts what ttypong predicts`, async () => {
    assert.ok(existsSync(exchange), `${exchange} is missing: run make build/release/tests/tfjs_driver`);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ttypong-drop-'));
    const dir = path.join(work, 'model');
    const rows = featureRows(12);

    const ours = probabilities(execFileSync(exchange, ['export-variant', dir, variant],
      { input: csv(rows), encoding: 'utf8' }));
    const model = await tf.loadLayersModel(dirLoader(dir));
    assert.deepEqual(model.layers.map((l) => l.getClassName()), classes, 'layer classes');
    const theirs = model.predict(tf.tensor2d(rows)).arraySync();
    assertRowsClose(theirs, ours, `${variant} in TF.js`);

    const entries = model.getUserDefinedMetadata().ttypong.dropout;
    const named = entries.filter((e) => e.variant === variant);
    assert.ok(named.length >= 1, `metadata names no ${variant} layer: ${JSON.stringify(entries)}`);
    for (const e of named) {
      assert.ok(e.rates.length >= 1 && e.rates.every((r) => r > 0 && r < 1),
        `${variant} metadata rates ${JSON.stringify(e.rates)}`);
      if (variant === 'ConcreteDropout' || variant === 'VariationalDropout')
        assert.ok(e.rates.some((r) => Math.abs(r - e.rate) > 1e-3),
          `${variant} metadata shows only the initial rate ${e.rate}, not the learned ones`);
    }

    // Importing the export restores the variant, its learned rates and its
    // predictions; exporting it again writes the same metadata.
    const back = probabilities(execFileSync(exchange, ['import', dir], { input: csv(rows), encoding: 'utf8' }));
    assertRowsClose(back, ours, `${variant} imported back`);
    execFileSync(exchange, ['reexport', dir, path.join(work, 'again')]);
    const again = JSON.parse(fs.readFileSync(path.join(work, 'again', 'model.json'), 'utf8'));
    const againEntries = again.userDefinedMetadata.ttypong.dropout;
    assert.equal(againEntries.length, entries.length, 'dropout entries after a round trip');
    againEntries.forEach((e, i) => {
      assert.equal(e.variant, entries[i].variant, `entry ${i} variant`);
      e.rates.forEach((r, k) => assert.ok(Math.abs(r - entries[i].rates[k]) <= 1e-6,
        `entry ${i} rate ${k}: ${r} after the round trip, ${entries[i].rates[k]} before`));
    });
    fs.rmSync(work, { recursive: true, force: true });
  });
}
