// core.js: Pong's rules for the browser page, ported from game/core.c and
// ai/rng.c so that the page plays exactly the terminal game.
//
// Units, signs and phases are those of game/core.h: the origin is the field's
// centre, y grows downward, speeds are in field units per second, and one
// step is 1/60 s. Every operation is an IEEE double +, -, *, / or sqrt, as
// in the C code, so the same seed and moves give the same states bit for bit.
// The generator uses BigInt for its 64-bit integer arithmetic.

export const FIELD_W = 160.0;
export const FIELD_H = 90.0;
export const PADDLE_FACE_X = 72.0;
export const PADDLE_W = 2.0;
export const BALL_R = 1.0;
export const STEP_HZ = 60;
export const STEP_S = 1.0 / STEP_HZ;

export const LEFT = 0;
export const RIGHT = 1;

export const MOVE_UP = 0;
export const MOVE_STAY = 1;
export const MOVE_DOWN = 2;

export const RESULT_LEFT = 0;
export const RESULT_RIGHT = 1;
export const RESULT_DRAW = 2;
export const RESULT_NONE = 3;

export const PHASE_SERVE = 0;
export const PHASE_PLAY = 1;
export const PHASE_ROUND_OVER = 2;
export const PHASE_MATCH_OVER = 3;

export const EV_SERVE = 1 << 0;
export const EV_WALL = 1 << 1;
export const EV_HIT_LEFT = 1 << 2;
export const EV_HIT_RIGHT = 1 << 3;
export const EV_POINT_LEFT = 1 << 4;
export const EV_POINT_RIGHT = 1 << 5;
export const EV_DRAW = 1 << 6;
export const EV_MATCH_OVER = 1 << 7;

// The network's inputs in core_features() order.
export const FEATURE_NAMES = ['ball_x', 'ball_y', 'ball_vx', 'ball_vy', 'own_y', 'opp_y'];
export const CLASS_NAMES = ['up', 'stay', 'down'];

const WALL_Y = FIELD_H / 2 - BALL_R;
const CONTACT_X = PADDLE_FACE_X - BALL_R;
const GOAL_X = FIELD_W / 2;

const MASK64 = (1n << 64n) - 1n;

function rotl(x, k) {
	return ((x << BigInt(k)) | (x >> BigInt(64 - k))) & MASK64;
}

// xoshiro256** seeded through splitmix64, as ai/rng.c.
export class Rng {
	constructor(seed) {
		let x = BigInt.asUintN(64, BigInt(seed));
		this.s = [];
		for (let i = 0; i < 4; i++) {
			x = (x + 0x9e3779b97f4a7c15n) & MASK64;
			let z = x;
			z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
			z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
			this.s.push(z ^ (z >> 31n));
		}
	}

	next() {
		const s = this.s;
		const result = (rotl((s[1] * 5n) & MASK64, 7) * 9n) & MASK64;
		const t = (s[1] << 17n) & MASK64;
		s[2] ^= s[0];
		s[3] ^= s[1];
		s[1] ^= s[2];
		s[0] ^= s[3];
		s[2] ^= t;
		s[3] = rotl(s[3], 45);
		return result;
	}

	// A uniform double in [0, 1) with 53 random bits.
	uniform() {
		return Number(this.next() >> 11n) * 2 ** -53;
	}
}

export function defaultConfig() {
	return {
		paddleHalfH: 8.0,
		paddleSpeedPerS: 90.0,
		serveSpeedPerS: 70.0,
		speedupPerReturn: 6.0,
		maxSpeedPerS: 200.0,
		bounceMaxSlope: 1.2,
		serveMaxSlope: 0.5,
		serveWaitSteps: 30,
		pointsToWin: 11,
		rallyMaxReturns: 0,
		roundMaxSteps: 7200,
	};
}

export function paddleYMax(c) {
	return FIELD_H / 2 - c.paddleHalfH;
}

function clamp(v, lo, hi) {
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

function aim(ball, dirX, slope, speed) {
	const norm = Math.sqrt(1.0 + slope * slope);
	ball.speed = speed;
	ball.vx = dirX * speed / norm;
	ball.vy = slope * speed / norm;
}

// The whole game state; see struct core_state.
export class Game {
	constructor(config, seed) {
		this.c = config;
		this.rng = new Rng(seed);
		this.ball = { x: 0, y: 0, vx: 0, vy: 0, speed: 0 };
		this.paddleY = [0, 0];
		this.steps = 0;
		this.phase = PHASE_SERVE;
		this.server = RIGHT;	// newMatch() hands the serve over, so LEFT serves first
		this.lastResult = RESULT_NONE;
		this.score = [0, 0];
		this.round = 0;
		this.roundSteps = 0;
		this.serveWait = 0;
		this.returns = [0, 0];
		this.newMatch();
	}

	newMatch() {
		this.score = [0, 0];
		this.round = 0;
		this.lastResult = RESULT_NONE;
		this.paddleY = [0, 0];
		this.server = this.server === LEFT ? RIGHT : LEFT;
		this.setupServe();
	}

	nextRound() {
		if (this.phase !== PHASE_ROUND_OVER)
			throw new Error('nextRound() needs a finished round');
		this.server = this.server === LEFT ? RIGHT : LEFT;
		this.setupServe();
	}

	setupServe() {
		const c = this.c;
		const dirX = this.server === LEFT ? 1.0 : -1.0;
		const y = (this.rng.uniform() - 0.5) * (FIELD_H / 2);
		const slope = (2.0 * this.rng.uniform() - 1.0) * c.serveMaxSlope;

		this.ball.x = 0.0;
		this.ball.y = y;
		aim(this.ball, dirX, slope, c.serveSpeedPerS);
		this.phase = PHASE_SERVE;
		this.serveWait = c.serveWaitSteps;
		this.roundSteps = 0;
		this.returns = [0, 0];
	}

	movePaddles(left, right) {
		const step = this.c.paddleSpeedPerS * STEP_S;
		const limit = paddleYMax(this.c);
		const moves = [left, right];
		for (let side = 0; side < 2; side++) {
			const y = this.paddleY[side] + (moves[side] - 1.0) * step;
			this.paddleY[side] = clamp(y, -limit, limit);
		}
	}

	endRound(result) {
		this.lastResult = result;
		this.round++;
		this.phase = PHASE_ROUND_OVER;
		if (result === RESULT_DRAW)
			return EV_DRAW;
		this.score[result]++;
		if (this.score[result] >= this.c.pointsToWin) {
			this.phase = PHASE_MATCH_OVER;
			return (EV_POINT_LEFT << result) | EV_MATCH_OVER;
		}
		return EV_POINT_LEFT << result;
	}

	bouncePaddle(side) {
		const c = this.c;
		const reach = c.paddleHalfH + BALL_R;
		let offset = (this.ball.y - this.paddleY[side]) / reach;
		let speed = this.ball.speed + c.speedupPerReturn;
		const dirX = side === LEFT ? 1.0 : -1.0;

		offset = clamp(offset, -1.0, 1.0);
		if (speed > c.maxSpeedPerS)
			speed = c.maxSpeedPerS;
		aim(this.ball, dirX, offset * c.bounceMaxSlope, speed);
	}

	// The first contact within dt seconds: {kind, t, side}.
	nextContact(dt) {
		const b = this.ball;
		let kind = 'none';
		let best = dt;
		let side = LEFT;

		if (b.vy !== 0.0) {
			const wall = b.vy < 0 ? -WALL_Y : WALL_Y;
			let tw = (wall - b.y) / b.vy;
			if (tw < 0)
				tw = 0;
			if (tw <= best) {
				best = tw;
				kind = 'wall';
			}
		}
		if (b.vx !== 0.0) {
			const toward = b.vx < 0 ? LEFT : RIGHT;
			const sign = toward === LEFT ? -1.0 : 1.0;
			const ahead = sign * b.x;
			if (ahead < CONTACT_X) {
				const tp = (CONTACT_X - ahead) / Math.abs(b.vx);
				if (tp <= best) {
					best = tp;
					kind = 'paddle';
					side = toward;
				}
			} else {
				let tg = (GOAL_X - ahead) / Math.abs(b.vx);
				if (tg < 0)
					tg = 0;
				if (tg <= best) {
					best = tg;
					kind = 'goal';
					side = toward;
				}
			}
		}
		return { kind, t: best, side };
	}

	moveBall() {
		const b = this.ball;
		const c = this.c;
		let left = STEP_S;
		let events = 0;

		for (;;) {
			const { kind, t, side } = this.nextContact(left);
			b.x += b.vx * t;
			b.y += b.vy * t;
			left -= t;

			if (kind === 'none')
				return events;
			if (kind === 'wall') {
				b.y = b.vy < 0 ? -WALL_Y : WALL_Y;	// snap, so rounding never leaves the field
				b.vy = -b.vy;
				events |= EV_WALL;
			} else if (kind === 'paddle') {
				const reach = c.paddleHalfH + BALL_R;
				b.x = side === LEFT ? -CONTACT_X : CONTACT_X;
				if (Math.abs(b.y - this.paddleY[side]) > reach)
					continue;	// missed: the ball flies on behind the face
				this.bouncePaddle(side);
				this.returns[side]++;
				events |= EV_HIT_LEFT << side;
				if (c.rallyMaxReturns !== 0 &&
				    this.returns[0] + this.returns[1] >= c.rallyMaxReturns)
					return events | this.endRound(RESULT_DRAW);
			} else {
				b.x = side === LEFT ? -GOAL_X : GOAL_X;
				return events | this.endRound(side === LEFT ? RESULT_RIGHT : RESULT_LEFT);
			}
		}
	}

	// Advances one step of STEP_S with the two moves; returns event bits.
	step(left, right) {
		let events = 0;
		if (this.phase === PHASE_ROUND_OVER || this.phase === PHASE_MATCH_OVER)
			return 0;
		this.steps++;
		this.roundSteps++;
		this.movePaddles(left, right);

		if (this.phase === PHASE_SERVE) {
			if (this.serveWait > 0) {
				this.serveWait--;
				return 0;
			}
			this.phase = PHASE_PLAY;
			events |= EV_SERVE;
		}
		events |= this.moveBall();
		if (this.phase === PHASE_PLAY && this.c.roundMaxSteps !== 0 &&
		    this.roundSteps >= this.c.roundMaxSteps)
			events |= this.endRound(RESULT_DRAW);
		return events;
	}

	// The six features seen by side, as float32 values; see core_features().
	features(side) {
		const mirror = side === LEFT;
		const x = mirror ? 0.0 - this.ball.x : this.ball.x;
		const vx = mirror ? 0.0 - this.ball.vx : this.ball.vx;
		const scale = paddleYMax(this.c);
		return [
			Math.fround(x / (FIELD_W / 2)),
			Math.fround(this.ball.y / (FIELD_H / 2)),
			Math.fround(vx / this.c.maxSpeedPerS),
			Math.fround(this.ball.vy / this.c.maxSpeedPerS),
			Math.fround(this.paddleY[side] / scale),
			Math.fround(this.paddleY[side === LEFT ? RIGHT : LEFT] / scale),
		];
	}
}
