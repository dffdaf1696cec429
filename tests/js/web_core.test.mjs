// The browser page's rules (assets/web/core.js) against the game's C core:
// the same seed and moves must give the same states bit for bit. The test
// builds tests/js/core_trace.c with game/core.c and skips while the tree has
// no game/core.c.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '../../assets/web/core.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const hasCore = fs.existsSync(path.join(root, 'game/core.c'));
const STEPS = 20000;	// several full matches at the default rules

const view = new DataView(new ArrayBuffer(8));

function doubleBits(d) {
	view.setFloat64(0, d);
	return view.getBigUint64(0).toString(16).padStart(16, '0');
}

function floatBits(f) {
	view.setFloat32(0, f);
	return view.getUint32(0).toString(16).padStart(8, '0');
}

function jsTrace(seed) {
	const game = new core.Game(core.defaultConfig(), seed);
	const lines = [];
	for (let i = 0; i < STEPS; i++) {
		const left = Math.floor(i / 7) % 3;
		const right = (Math.floor(i / 11) + Math.floor(i / 5)) % 3;
		if (game.phase === core.PHASE_ROUND_OVER)
			game.nextRound();
		else if (game.phase === core.PHASE_MATCH_OVER)
			game.newMatch();
		const events = game.step(left, right);
		const b = game.ball;
		const fields = [i, events, doubleBits(b.x), doubleBits(b.y), doubleBits(b.vx), doubleBits(b.vy),
			doubleBits(game.paddleY[0]), doubleBits(game.paddleY[1]),
			game.score[0], game.score[1], game.phase, ...game.features(core.LEFT).map(floatBits)];
		lines.push(fields.join(' '));
	}
	return lines;
}

test('core.js replays game/core.c bit for bit', { skip: !hasCore && 'game/core.c is not in this tree' }, () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttypong-core-'));
	try {
		const exe = path.join(dir, 'core_trace');
		execFileSync('cc', ['-std=c11', '-O2', '-I', path.join(root, 'game'), '-I', path.join(root, 'ai'),
			path.join(root, 'tests/js/core_trace.c'), path.join(root, 'game/core.c'),
			path.join(root, 'ai/rng.c'), '-lm', '-o', exe]);
		for (const seed of [1, 5, 123456789]) {
			const c = execFileSync(exe, [String(seed), String(STEPS)], { encoding: 'utf8', maxBuffer: 1 << 26 })
				.trimEnd().split('\n');
			const js = jsTrace(seed);
			assert.equal(js.length, c.length, `seed ${seed}: trace lengths`);
			const first = c.findIndex((line, i) => line !== js[i]);
			assert.equal(first, -1, `seed ${seed}: first difference at step ${first}:\n C  ${c[first]}\n JS ${js[first]}`);
			assert.ok(c.some((line) => line.split(' ')[10] === String(core.PHASE_MATCH_OVER)),
				`seed ${seed}: the trace reaches the end of a match`);
		}
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});
