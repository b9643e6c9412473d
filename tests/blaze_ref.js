// blaze_ref.js: reference boxes from BlazeFace on its original runtime
// (the graph model human 3.3.6 ships as models/blazeface.json, on
// @tensorflow/tfjs with the wasm backend), for tests/blaze_ref.sh: each
// region of a photo run once, as human's src/face/blazeface.ts runs the
// net (decoding, sigmoid scores, NMS at IoU 0.3, at most 100 boxes), with
// the region centred on a zero square as human's `square` option does.
//
//   node tests/blaze_ref.js MODEL.json MINSCORE PPMDIR regions.txt
//
// regions.txt (from tests/blaze_dump.c): "NAME.ppm x y w h" per line, the
// photo PPMDIR/NAME.ppm as fer decoded it. Prints one line per face:
// "NAME.ppm x y w h bx by bw bh score", pixels of the photo.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
const { readPPM } = require('./ppm_read.js');

const S = 256;

// human's generateAnchors for the 256 model: strides 16 and 32, 2 and 6
// anchors a cell, centres at (stride (gx + 0.5), stride (gy + 0.5)), x first
function anchors() {
    const out = [];
    for (const [stride, per] of [[16, 2], [32, 6]])
        for (let gy = 0; gy < S / stride; gy++)
            for (let gx = 0; gx < S / stride; gx++)
                for (let a = 0; a < per; a++) out.push([stride * (gx + 0.5), stride * (gy + 0.5)]);
    return out;
}

// A graph model from its json and the .bin beside it, without tfjs-node.
async function load(file) {
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    const specs = [], bins = [];
    for (const g of j.weightsManifest) {
        specs.push(...g.weights);
        for (const p of g.paths) bins.push(fs.readFileSync(path.join(path.dirname(file), p)));
    }
    const all = Buffer.concat(bins);
    return tf.loadGraphModel(tf.io.fromMemory({
        modelTopology: j.modelTopology, format: j.format, generatedBy: j.generatedBy,
        convertedBy: j.convertedBy, userDefinedMetadata: j.userDefinedMetadata, weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    }));
}

async function main() {
    const [modelFile, minScore, dir, regionsFile] = process.argv.slice(2);
    await tf.setBackend('wasm');
    await tf.ready();
    const model = await load(modelFile);
    const anc = tf.tensor2d(anchors());
    const images = new Map();
    for (const line of fs.readFileSync(regionsFile, 'utf8').split('\n')) {
        if (!line) continue;
        const [name, ...r] = line.split(' ');
        const [rx, ry, rw, rh] = r.map(Number);
        if (!images.has(name)) {
            for (const t of images.values()) t.dispose();
            images.clear();
            const im = readPPM(path.join(dir, name));
            images.set(name, tf.tensor3d(new Int32Array(im.px), [im.h, im.w, 3], 'int32').toFloat());
        }
        const img = images.get(name), side = Math.max(rw, rh);
        const px = Math.floor((side - rw) / 2), py = Math.floor((side - rh) / 2);
        const input = tf.tidy(() => {
            const c = tf.pad(tf.slice(img, [ry, rx, 0], [rh, rw, 3]),
                [[py, side - rh - py], [px, side - rw - px], [0, 0]]);
            return tf.sub(tf.div(tf.image.resizeBilinear(c.expandDims(0), [S, S]), 127.5), 1);
        });
        // scores and regressors of the 16 x 16 level, then of the 8 x 8 one
        const out = model.execute(input, ['Identity:0', 'Identity_2:0', 'Identity_1:0', 'Identity_3:0']);
        const { boxes, scores } = tf.tidy(() => {
            const raw = tf.squeeze(tf.concat([tf.concat([out[0], out[1]], 2),
                tf.concat([out[2], out[3]], 2)], 1), [0]);
            const centre = tf.add(tf.slice(raw, [0, 1], [-1, 2]), anc);
            const half = tf.div(tf.slice(raw, [0, 3], [-1, 2]), 2);
            const lo = tf.sub(centre, half), hi = tf.add(centre, half);
            // [y0, x0, y1, x1] for tf's NMS
            const b = tf.concat([tf.reverse(lo, 1), tf.reverse(hi, 1)], 1);
            return { boxes: b, scores: tf.squeeze(tf.sigmoid(tf.slice(raw, [0, 0], [-1, 1])), [1]) };
        });
        const keep = await tf.image.nonMaxSuppressionAsync(boxes, scores, 100, 0.3, +minScore);
        const k = keep.dataSync(), bb = boxes.dataSync(), ss = scores.dataSync(), f = side / S;
        for (const i of k) {
            const y0 = bb[4 * i] * f - py + ry, x0 = bb[4 * i + 1] * f - px + rx;
            const y1 = bb[4 * i + 2] * f - py + ry, x1 = bb[4 * i + 3] * f - px + rx;
            console.log([name, rx, ry, rw, rh, x0, y0, x1 - x0, y1 - y0, ss[i]].join(' '));
        }
        tf.dispose([input, boxes, scores, keep, ...out]);
    }
}
main().catch((e) => { console.error('blaze_ref: ' + (e.stack || e.message)); process.exit(1); });
