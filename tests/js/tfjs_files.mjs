// File-system IO handlers for TF.js Layers models under plain @tensorflow/tfjs
// in Node, which has no file:// handler without tfjs-node.
//
// dirLoader(dir) reads model.json and its weight files the way TF.js's HTTP
// loader does: the files of every manifest group are concatenated in order,
// and so are the groups' weight lists.
// dirSaver(dir, options) writes what model.save() hands over, splitting the
// weight data into shards and, optionally, the weight list into groups.
import fs from 'node:fs';
import path from 'node:path';

export function dirLoader(dir) {
	return {
		async load() {
			const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
			const weightSpecs = [];
			const buffers = [];
			for (const group of json.weightsManifest ?? []) {
				weightSpecs.push(...group.weights);
				for (const p of group.paths)
					buffers.push(fs.readFileSync(path.join(dir, p)));
			}
			const all = Buffer.concat(buffers);
			const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
			const artifacts = {
				modelTopology: json.modelTopology,
				format: json.format,
				generatedBy: json.generatedBy,
				convertedBy: json.convertedBy,
				weightSpecs,
				weightData,
			};
			if (json.userDefinedMetadata != null)
				artifacts.userDefinedMetadata = json.userDefinedMetadata;
			if (json.trainingConfig != null)
				artifacts.trainingConfig = json.trainingConfig;
			return artifacts;
		},
	};
}

// Splits byte length n into `count` pieces of uneven sizes that need not fall
// on weight boundaries, as TF.js's own sharding by byte size does.
function shardSizes(n, count) {
	const sizes = [];
	let left = n;
	for (let i = count; i > 1; i--) {
		const size = Math.max(1, Math.floor(left / i) + (i % 2 ? 3 : -3));
		sizes.push(Math.min(size, left));
		left -= sizes[sizes.length - 1];
	}
	sizes.push(left);
	return sizes;
}

// options.shards: number of weight files; options.groups: number of manifest
// groups (each group gets its own files, so shards applies per group).
export function dirSaver(dir, { shards = 1, groups = 1 } = {}) {
	return {
		async save(artifacts) {
			fs.mkdirSync(dir, { recursive: true });
			const data = Buffer.from(artifacts.weightData instanceof ArrayBuffer
				? artifacts.weightData
				: Buffer.concat(artifacts.weightData.map((b) => Buffer.from(b))));
			const specs = artifacts.weightSpecs;
			const sizes = specs.map(specBytes);

			const manifest = [];
			const per = Math.ceil(specs.length / groups);
			let offset = 0;
			for (let g = 0; g < groups; g++) {
				const groupSpecs = specs.slice(g * per, (g + 1) * per);
				if (groupSpecs.length === 0)
					continue;
				const bytes = sizes.slice(g * per, (g + 1) * per).reduce((a, b) => a + b, 0);
				const chunk = data.subarray(offset, offset + bytes);
				offset += bytes;
				const paths = [];
				let at = 0;
				const pieces = shardSizes(chunk.length, shards);
				pieces.forEach((size, i) => {
					const name = `group${g + 1}-shard${i + 1}of${pieces.length}.bin`;
					fs.writeFileSync(path.join(dir, name), chunk.subarray(at, at + size));
					at += size;
					paths.push(name);
				});
				manifest.push({ paths, weights: groupSpecs });
			}

			const json = {
				modelTopology: artifacts.modelTopology,
				format: artifacts.format,
				generatedBy: artifacts.generatedBy,
				convertedBy: artifacts.convertedBy,
				weightsManifest: manifest,
			};
			if (artifacts.trainingConfig != null)
				json.trainingConfig = artifacts.trainingConfig;
			fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
			return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
		},
	};
}

const DTYPE_BYTES = { float32: 4, int32: 4, bool: 1, float16: 2, uint16: 2, uint8: 1, complex64: 8 };

function specBytes(spec) {
	const n = spec.shape.reduce((a, b) => a * b, 1);
	const dtype = spec.quantization ? spec.quantization.dtype : spec.dtype;
	if (!(dtype in DTYPE_BYTES))
		throw new Error(`dirSaver: dtype ${dtype} of ${spec.name} is not handled`);
	return n * DTYPE_BYTES[dtype];
}
