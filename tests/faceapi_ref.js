// faceapi_ref.js: reference boxes from face-api.js's own runtime
// (@vladmandic/face-api on @tensorflow/tfjs with the wasm backend), for
// tests/ssd_ref.sh and bench/detect_accuracy.sh.
//
//   node tests/faceapi_ref.js MODELDIR MINSCORE photo.ppm...
//
// MODELDIR holds ssd_mobilenetv1_model-weights_manifest.json and its .bin;
// node finds the packages through NODE_PATH. Each photo is a binary PPM
// (P6, maxval 255) that fer decoded, so both sides see the same pixels.
// Prints one line per face: "file x y w h score" in pixels of the photo,
// floats as the runtime gives them.
'use strict';
const path = require('path');
const { readPPM } = require('./ppm_read.js');

async function main() {
    const [dir, minScore, ...photos] = process.argv.slice(2);
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
    const tf = faceapi.tf;
    await tf.setBackend('wasm');
    await tf.ready();
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(dir);
    const opts = new faceapi.SsdMobilenetv1Options({ minConfidence: +minScore, maxResults: 100 });
    for (const file of photos) {
        const im = readPPM(file);
        const t = tf.tensor3d(new Int32Array(im.px), [im.h, im.w, 3], 'int32');
        const dets = await faceapi.nets.ssdMobilenetv1.locateFaces(t, opts);
        for (const d of dets) {
            const b = d.box;
            console.log([path.basename(file), b.x, b.y, b.width, b.height, d.score].join(' '));
        }
        t.dispose();
    }
}
main().catch((e) => { console.error('faceapi_ref: ' + e.message); process.exit(1); });
