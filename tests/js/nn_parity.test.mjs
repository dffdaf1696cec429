// Parity of the C network library with TF.js (cpu backend) as the oracle.
// Both sides get the same weights, inputs and batches; the C side runs
// through build/release/tests/nn_driver (built by `make test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const driver = path.join(root, 'build/release/tests/nn_driver');
const TOLERANCE = 1e-5;
const ACTIVATIONS = ['linear', 'relu', 'selu', 'tanh', 'sigmoid', 'softmax'];

await tf.setBackend('cpu');

// mulberry32: a small seeded generator, so every run uses the same data.
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

function oneHot(next, rows, classes) {
  const y = new Float32Array(rows * classes);
  for (let i = 0; i < rows; i++) y[i * classes + Math.floor(next() * classes)] = 1;
  return y;
}

function runDriver(job) {
  assert.ok(existsSync(driver), `${driver} is missing: run make build/release/tests/nn_driver`);
  const result = spawnSync(driver, {
    input: JSON.stringify(job),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  assert.equal(result.status, 0, `nn_driver failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function buildTfModel(desc) {
  const model = tf.sequential();
  desc.layers.forEach((layer, i) => {
    const shape = i === 0 ? { inputShape: [desc.inputs] } : {};
    if (layer.kind === 'Dense') {
      model.add(tf.layers.dense({
        units: layer.units,
        activation: layer.activation ?? 'linear',
        useBias: layer.use_bias ?? true,
        ...shape,
      }));
    } else {
      model.add(tf.layers.dropout({ rate: layer.rate, ...shape }));
    }
  });
  return model;
}

// Gives the TF.js model random weights (scaled per tensor) and returns them
// as plain arrays in Keras's get_weights order, for the driver.
function randomizeWeights(model, next, scale = 1) {
  const shapes = model.getWeights().map((w) => w.shape);
  const values = shapes.map((shape) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const limit = shape.length === 2 ? Math.sqrt(6 / (shape[0] + shape[1])) : 0.2;
    return uniform(next, count, -limit * scale, limit * scale);
  });
  model.setWeights(values.map((v, i) => tf.tensor(v, shapes[i])));
  return values.map((v) => Array.from(v));
}

function assertClose(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: length differs`);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    assert.ok(diff <= TOLERANCE,
      `${what}[${i}]: C gives ${actual[i]}, TF.js ${expected[i]} (difference ${diff})`);
  }
}

function forwardParity(desc, seed, rows, lo, hi) {
  const next = generator(seed);
  const model = buildTfModel(desc);
  const weights = randomizeWeights(model, next);
  const x = uniform(next, rows * desc.inputs, lo, hi);

  const ours = runDriver({ model: desc, weights, x: Array.from(x), n: rows });
  const theirs = tf.tidy(() => model.predict(tf.tensor2d(x, [rows, desc.inputs])).dataSync());
  assertClose(ours.y, Array.from(theirs), `${JSON.stringify(desc.layers)} outputs`);
  model.dispose();
}

async function trainingParity(desc, seed, { outputScale = 1, steps = 10, rows = 16 } = {}) {
  const next = generator(seed);
  const model = buildTfModel(desc);
  const weights = randomizeWeights(model, next);
  const outputs = desc.layers.filter((l) => l.kind === 'Dense').at(-1).units;
  const batches = [];

  // outputScale > 1 makes the last layer confident, so some probabilities
  // reach the clip bounds of the cross-entropy.
  if (outputScale !== 1) {
    const last = model.layers.at(-1).getWeights();
    const scaled = last.map((w) => tf.mul(w, outputScale));
    model.layers.at(-1).setWeights(scaled);
    const lastIndex = weights.length - last.length;
    scaled.forEach((w, i) => { weights[lastIndex + i] = Array.from(w.dataSync()); });
  }
  for (let s = 0; s < steps; s++) {
    batches.push({
      x: uniform(next, rows * desc.inputs, -1, 1),
      y: oneHot(next, rows, outputs),
      n: rows,
    });
  }

  const ours = runDriver({
    model: desc,
    weights,
    steps: batches.map((b) => ({ x: Array.from(b.x), y: Array.from(b.y), n: b.n })),
  });

  model.compile({ optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7), loss: 'categoricalCrossentropy' });
  const losses = [];
  for (const b of batches) {
    const xs = tf.tensor2d(b.x, [b.n, desc.inputs]);
    const ys = tf.tensor2d(b.y, [b.n, outputs]);
    losses.push(await model.trainOnBatch(xs, ys));
    xs.dispose();
    ys.dispose();
  }
  const name = JSON.stringify(desc.layers);
  assertClose(ours.losses, losses, `${name} losses`);
  const theirs = model.getWeights().map((w) => Array.from(w.dataSync()));
  assert.equal(ours.weights.length, theirs.length, `${name}: tensor count differs`);
  theirs.forEach((w, i) => assertClose(ours.weights[i], w, `${name} weights ${i}`));
  model.dispose();
}

const reference = (rate) => ({
  inputs: 6,
  layers: [
    { kind: 'Dense', units: 64, activation: 'relu', use_bias: true },
    { kind: 'Dropout', rate },
    { kind: 'Dense', units: 64, activation: 'relu', use_bias: true },
    { kind: 'Dropout', rate },
    { kind: 'Dense', units: 3, activation: 'softmax', use_bias: true },
  ],
});

test('reference model forward matches TF.js in eval mode', () => {
  forwardParity(reference(0.5), 1, 32, -1, 1);
});

test('each activation forward matches TF.js', () => {
  ACTIVATIONS.forEach((activation, i) => {
    for (const useBias of [true, false]) {
      const desc = {
        inputs: 6,
        layers: [{ kind: 'Dense', units: 7, activation, use_bias: useBias }],
      };
      forwardParity(desc, 10 + i, 16, -4, 4);
    }
  });
});

test('softmax with extreme logits matches TF.js', () => {
  forwardParity({ inputs: 3, layers: [{ kind: 'Dense', units: 3, activation: 'softmax' }] },
    5, 8, -3000, 3000);
});

test('ten Adam steps of the reference model match TF.js', async () => {
  await trainingParity(reference(0), 2);
});

test('ten Adam steps match TF.js for each hidden activation', async () => {
  for (const [i, activation] of ACTIVATIONS.entries()) {
    await trainingParity({
      inputs: 6,
      layers: [
        { kind: 'Dense', units: 8, activation, use_bias: true },
        { kind: 'Dense', units: 3, activation: 'softmax', use_bias: i % 2 === 0 },
      ],
    }, 20 + i);
  }
});

test('Adam steps with clipped probabilities match TF.js', async () => {
  await trainingParity({
    inputs: 6,
    layers: [
      { kind: 'Dense', units: 8, activation: 'tanh' },
      { kind: 'Dense', units: 3, activation: 'softmax' },
    ],
  }, 40, { outputScale: 60 });
});

test('Adam steps with sigmoid outputs match TF.js', async () => {
  // Sigmoid outputs do not sum to 1, so the cross-entropy rescales them.
  await trainingParity({
    inputs: 6,
    layers: [
      { kind: 'Dense', units: 8, activation: 'relu' },
      { kind: 'Dense', units: 3, activation: 'sigmoid' },
    ],
  }, 41);
});
