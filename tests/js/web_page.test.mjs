// The browser page plays against an exported model: a model made in TF.js is
// imported and exported by ttypong with the page beside it, served on
// 127.0.0.1, and loaded in Debian's Chromium through playwright-core. The
// test checks that the model loads, that the AI paddle moves both ways, and
// that the page's TF.js probabilities match ttypong's for the same features.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { dirSaver } from './tfjs_files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const driver = path.join(root, 'build/release/tests/tfjs_driver');
const chromiumPath = '/usr/bin/chromium';
const hasChromium = fs.existsSync(chromiumPath);
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };
let work;
let server;

before(async () => {
	await tf.setBackend('cpu');
	work = fs.mkdtempSync(path.join(os.tmpdir(), 'ttypong-web-'));
});

after(() => {
	server?.close();
	if (work)
		fs.rmSync(work, { recursive: true, force: true });
});

// A network that steers the right paddle toward the ball: the logits of up
// and down grow with the gap between ball and paddle in field units (ball_y
// is scaled by 45 and own_y by 37, the paddle's range).
async function trackerModel(dir) {
	const model = tf.sequential();
	model.add(tf.layers.dense({ inputShape: [6], units: 3, activation: 'softmax', name: 'steer' }));
	const kernel = Array.from({ length: 6 }, () => [0, 0, 0]);
	kernel[1] = [-45, 0, 45];
	kernel[4] = [37, 0, -37];
	model.layers[0].setWeights([tf.tensor2d(kernel), tf.tensor1d([0, 3, 0])]);
	await model.save(dirSaver(dir));
}

function serve(dir) {
	return new Promise((resolve) => {
		server = http.createServer((req, res) => {
			const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
			const file = path.join(dir, path.normalize(rel));
			if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
				res.writeHead(404);
				res.end();
				return;
			}
			res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
			fs.createReadStream(file).pipe(res);
		});
		server.listen(0, '127.0.0.1', () => resolve(server.address().port));
	});
}

test('web page plays against an exported model', { skip: !hasChromium && `${chromiumPath} is missing` }, async () => {
	const { chromium } = await import('playwright-core');
	const source = path.join(work, 'tracker');
	const site = path.join(work, 'site');
	await trackerModel(source);
	execFileSync(driver, ['reexport', source, site, path.join(root, 'assets/web')]);
	assert.ok(fs.existsSync(path.join(site, 'index.html')), 'the page was copied beside the model');
	assert.ok(fs.existsSync(path.join(site, 'vendor/tf.min.js')), 'TF.js was copied');
	const port = await serve(site);

	const context = await chromium.launchPersistentContext(path.join(work, 'profile'), {
		executablePath: chromiumPath,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	try {
		const page = await context.newPage();
		const pageErrors = [];
		page.on('pageerror', (e) => pageErrors.push(String(e)));
		await page.goto(`http://127.0.0.1:${port}/index.html?seed=7`);
		await page.waitForFunction(() => window.ttypong && (window.ttypong.modelLoaded || window.ttypong.error),
			null, { timeout: 30000 });
		const loaded = await page.evaluate(() => ({ ok: window.ttypong.modelLoaded, error: window.ttypong.error }));
		assert.equal(loaded.error, null, 'the page reports no error');
		assert.ok(loaded.ok, 'the model loaded');

		// Play until the AI paddle has gone both ways, or give up after 30 s.
		await page.waitForFunction(() => {
			const t = window.ttypong;
			return t.aiMoves[0] > 0 && t.aiMoves[2] > 0 && t.aiPaddleMax - t.aiPaddleMin > 2;
		}, null, { timeout: 30000, polling: 100 }).catch(() => {});
		const s = await page.evaluate(() => ({ ...window.ttypong }));
		assert.ok(s.steps > 30, `the game advanced (${s.steps} steps)`);
		assert.ok(s.aiMoves[0] > 0, `the AI moved up (${s.aiMoves})`);
		assert.ok(s.aiMoves[2] > 0, `the AI moved down (${s.aiMoves})`);
		assert.ok(s.aiPaddleMax - s.aiPaddleMin > 2,
			`the AI paddle travelled (${s.aiPaddleMin} to ${s.aiPaddleMax} units)`);
		assert.equal(s.featureWarning, null, 'no feature warning');
		assert.deepEqual(pageErrors, [], 'no script errors');

		// The page's TF.js and ttypong agree on the page's last features.
		const out = execFileSync(driver, ['import', site], { input: s.features.join(',') + '\n', encoding: 'utf8' });
		const ours = out.trim().split('\n')[1].split(',').slice(0, 3).map(Number);
		for (let j = 0; j < 3; j++)
			assert.ok(Math.abs(ours[j] - s.probs[j]) <= 1e-5, `class ${j}: ttypong ${ours[j]} vs page ${s.probs[j]}`);
		await page.screenshot({ path: path.join(os.tmpdir(), 'ttypong-web-page.png') });
	} finally {
		await context.close();
	}
});

// A model with a NaN weight must give a visible error, not a frozen page.
test('web page names a non-finite weight', { skip: !hasChromium && `${chromiumPath} is missing` }, async () => {
	const { chromium } = await import('playwright-core');
	const site = path.join(work, 'nan-site');
	const model = tf.sequential();
	model.add(tf.layers.dense({ inputShape: [6], units: 3, activation: 'softmax', name: 'steer' }));
	const kernel = Array.from({ length: 6 }, () => [0, 0, 0]);
	kernel[2][1] = NaN;
	model.layers[0].setWeights([tf.tensor2d(kernel), tf.tensor1d([0, 0, 0])]);
	await model.save(dirSaver(site));
	fs.cpSync(path.join(root, 'assets/web'), site, { recursive: true });
	server?.close();
	const port = await serve(site);

	const context = await chromium.launchPersistentContext(path.join(work, 'profile-nan'), {
		executablePath: chromiumPath,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
	});
	try {
		const page = await context.newPage();
		const pageErrors = [];
		page.on('pageerror', (e) => pageErrors.push(String(e)));
		await page.goto(`http://127.0.0.1:${port}/index.html?seed=7`);
		await page.waitForFunction(() => window.ttypong && (window.ttypong.modelLoaded || window.ttypong.error),
			null, { timeout: 30000 });
		const s = await page.evaluate(() => ({ ok: window.ttypong.modelLoaded, error: window.ttypong.error,
			status: document.getElementById('status').textContent }));
		assert.ok(!s.ok, 'the model was not accepted');
		assert.match(s.error, /weight 'steer\/kernel' element 7 is NaN/, `error: ${s.error}`);
		assert.match(s.status, /^Cannot load the model from model\.json: weight .* is NaN\.$/, `status: ${s.status}`);
		assert.doesNotMatch(s.status, /file:\/\//, 'no file:// hint for a page served over HTTP');
		assert.deepEqual(pageErrors, [], 'no script errors');
	} finally {
		await context.close();
	}
});
