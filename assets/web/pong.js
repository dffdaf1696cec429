// pong.js: plays Pong in the page against a ttypong model exported in the
// TF.js Layers format, with the rules of core.js.
//
// The model is loaded from model.json beside this page (or from the path in
// the ?model= query parameter); ?seed= fixes the serves, which otherwise
// follow the clock. At every 1/60 s step the network computes
// class probabilities over (up, stay, down) from the right player's features,
// and the right paddle plays the most probable move. window.ttypong exposes the page's state for tests and curious users.
import * as core from './core.js';

const ROUND_PAUSE_STEPS = 60;		// 1 s between a point and the next serve
const MAX_CATCH_UP_STEPS = 10;		// after a stall, drop time rather than race

const state = {
	modelLoaded: false,
	error: null,
	modelUrl: null,
	metadata: null,
	featureWarning: null,
	steps: 0,
	phase: null,
	score: [0, 0],
	paddleY: [0, 0],
	ball: null,
	features: null,
	probs: null,
	aiMoves: [0, 0, 0],		// counts of up, stay, down decisions
	aiPaddleMin: 0,			// lowest and highest y of the AI paddle so far, units
	aiPaddleMax: 0,
};
window.ttypong = state;

const canvas = document.getElementById('field');
const ctx = canvas.getContext('2d');
const statusLine = document.getElementById('status');
const keys = { up: false, down: false };

function setStatus(text, isError = false) {
	statusLine.textContent = text;
	statusLine.classList.toggle('error', isError);
}

function modelUrl() {
	const param = new URLSearchParams(window.location.search).get('model');
	return param || 'model.json';
}

function gameSeed() {
	const param = new URLSearchParams(window.location.search).get('seed');
	return /^[0-9]+$/.test(param ?? '') ? BigInt(param) : Date.now();
}

// Checks the exported metadata against the features this page computes.
function checkMetadata(meta) {
	const features = meta?.features;
	if (!Array.isArray(features))
		return null;
	if (features.join(',') !== core.FEATURE_NAMES.join(','))
		return `the model was trained on features [${features.join(', ')}] but this page gives [${core.FEATURE_NAMES.join(', ')}]`;
	return null;
}

// A NaN or infinite weight makes every prediction NaN; name the first one.
function checkWeights(model) {
	for (const layer of model.layers) {
		for (const w of layer.weights) {
			const values = w.read().dataSync();
			const at = values.findIndex((v) => !Number.isFinite(v));
			if (at >= 0)
				throw new Error(`weight '${w.originalName ?? w.name}' element ${at} is ${values[at]}`);
		}
	}
}

async function loadModel() {
	await tf.setBackend('cpu');	// tiny model: the CPU is faster than a GPU round trip
	state.modelUrl = modelUrl();
	const model = await tf.loadLayersModel(state.modelUrl);
	const inputs = model.inputs[0].shape[1];
	const outputs = model.outputs[0].shape[1];
	if (inputs !== core.FEATURE_NAMES.length || outputs !== core.CLASS_NAMES.length)
		throw new Error(`the model maps ${inputs} inputs to ${outputs} outputs; ttypong needs 6 to 3`);
	checkWeights(model);
	state.metadata = model.getUserDefinedMetadata()?.ttypong ?? null;
	state.featureWarning = checkMetadata(state.metadata);
	return model;
}

function decide(model, game) {
	const features = game.features(core.RIGHT);
	const probs = tf.tidy(() => model.predict(tf.tensor2d([features])).dataSync());
	if (!probs.every(Number.isFinite))
		throw new Error(`the model gave non-finite outputs [${Array.from(probs).join(', ')}]`);
	let best = 0;
	for (let i = 1; i < probs.length; i++)
		if (probs[i] > probs[best])
			best = i;
	state.features = features;
	state.probs = Array.from(probs);
	state.aiMoves[best]++;
	return best;
}

function humanMove() {
	if (keys.up && !keys.down)
		return core.MOVE_UP;
	if (keys.down && !keys.up)
		return core.MOVE_DOWN;
	return core.MOVE_STAY;
}

function draw(game) {
	const sx = canvas.width / core.FIELD_W;
	const sy = canvas.height / core.FIELD_H;
	const toX = (x) => (x + core.FIELD_W / 2) * sx;
	const toY = (y) => (y + core.FIELD_H / 2) * sy;
	const half = game.c.paddleHalfH;

	ctx.fillStyle = '#000';
	ctx.fillRect(0, 0, canvas.width, canvas.height);
	ctx.strokeStyle = '#333';
	ctx.setLineDash([6, 8]);
	ctx.beginPath();
	ctx.moveTo(canvas.width / 2, 0);
	ctx.lineTo(canvas.width / 2, canvas.height);
	ctx.stroke();
	ctx.setLineDash([]);

	ctx.fillStyle = '#eee';
	ctx.fillRect(toX(-core.PADDLE_FACE_X - core.PADDLE_W), toY(game.paddleY[0] - half),
		core.PADDLE_W * sx, 2 * half * sy);
	ctx.fillStyle = '#6cf';
	ctx.fillRect(toX(core.PADDLE_FACE_X), toY(game.paddleY[1] - half),
		core.PADDLE_W * sx, 2 * half * sy);
	if (game.phase !== core.PHASE_MATCH_OVER) {
		ctx.fillStyle = '#fff';
		ctx.beginPath();
		ctx.arc(toX(game.ball.x), toY(game.ball.y), core.BALL_R * sx, 0, 2 * Math.PI);
		ctx.fill();
	}
}

function showPanel(game) {
	document.getElementById('score').textContent = `${game.score[0]} : ${game.score[1]}`;
	if (state.probs)
		core.CLASS_NAMES.forEach((name, i) => {
			if (Number.isFinite(state.probs[i]))
				document.getElementById(`p-${name}`).value = state.probs[i];
		});
}

function publish(game) {
	state.steps = game.steps;
	state.phase = game.phase;
	state.score = game.score.slice();
	state.paddleY = game.paddleY.slice();
	state.aiPaddleMin = Math.min(state.aiPaddleMin, game.paddleY[core.RIGHT]);
	state.aiPaddleMax = Math.max(state.aiPaddleMax, game.paddleY[core.RIGHT]);
	state.ball = { ...game.ball };
}

function run(model) {
	const game = new core.Game(core.defaultConfig(), gameSeed());
	let pause = 0;
	let last = performance.now();
	let owed = 0;

	function step() {
		if (game.phase === core.PHASE_ROUND_OVER) {
			if (++pause >= ROUND_PAUSE_STEPS) {
				pause = 0;
				game.nextRound();
			}
			return;
		}
		if (game.phase === core.PHASE_MATCH_OVER)
			return;
		game.step(humanMove(), decide(model, game));
		if (game.phase === core.PHASE_MATCH_OVER)
			setStatus(game.score[0] > game.score[1] ? 'You win. Space starts a new match.'
				: 'The network wins. Space starts a new match.');
	}

	function frame(now) {
		owed += (now - last) / 1000;
		last = now;
		let n = 0;
		try {
			while (owed >= core.STEP_S && n < MAX_CATCH_UP_STEPS) {
				step();
				owed -= core.STEP_S;
				n++;
			}
		} catch (err) {
			state.error = String(err?.message ?? err);
			setStatus(`The game stopped: ${state.error}.`, true);
			return;
		}
		if (n === MAX_CATCH_UP_STEPS)
			owed = 0;
		publish(game);
		draw(game);
		showPanel(game);
		requestAnimationFrame(frame);
	}

	window.addEventListener('keydown', (e) => {
		if (e.key === ' ' && game.phase === core.PHASE_MATCH_OVER) {
			game.newMatch();
			setStatus('New match.');
		}
	});
	requestAnimationFrame(frame);
}

function bindKeys() {
	const set = (e, down) => {
		if (e.key === 'ArrowUp' || e.key === 'w' || e.key === 'W')
			keys.up = down;
		else if (e.key === 'ArrowDown' || e.key === 's' || e.key === 'S')
			keys.down = down;
		else
			return;
		e.preventDefault();
	};
	window.addEventListener('keydown', (e) => set(e, true));
	window.addEventListener('keyup', (e) => set(e, false));
}

async function main() {
	bindKeys();
	try {
		const model = await loadModel();
		state.modelLoaded = true;
		const meta = state.metadata;
		document.getElementById('model-info').textContent =
			`Model ${meta?.model_id ?? '(no id)'} from ${state.modelUrl}`;
		setStatus(state.featureWarning ? `Warning: ${state.featureWarning}.` : 'Model loaded. First to 11 wins.',
			Boolean(state.featureWarning));
		run(model);
	} catch (err) {
		state.error = String(err?.message ?? err);
		const reason = state.error.replace(/[.\s]+$/, '');
		const hint = window.location.protocol === 'file:'
			? ' Browsers do not load models from file:// pages: serve this directory over HTTP, for example with python3 -m http.server -b 127.0.0.1 8000.'
			: '';
		setStatus(`Cannot load the model from ${state.modelUrl}: ${reason}.${hint}`, true);
	}
}

main();
