// ppm_read.js: a binary PPM (P6, maxval 255) as fer wrote it, for the
// reference scripts that run the original runtimes on fer's decoded
// pixels (tests/faceapi_ref.js, tests/blaze_ref.js).
'use strict';
const fs = require('fs');

function readPPM(file) {
    const b = fs.readFileSync(file);
    let pos = 0;
    const tok = () => {
        for (;;) {
            while (/\s/.test(String.fromCharCode(b[pos]))) pos++;
            if (b[pos] !== 0x23) break;
            while (b[pos] !== 0x0a) pos++;
        }
        const s = pos;
        while (!/\s/.test(String.fromCharCode(b[pos]))) pos++;
        return b.toString('latin1', s, pos);
    };
    if (tok() !== 'P6') throw new Error(file + ': not a P6 PPM');
    const w = +tok(), h = +tok(), max = +tok();
    if (max !== 255) throw new Error(file + ': maxval ' + max);
    pos++;
    return { w, h, px: b.subarray(pos, pos + w * h * 3) };
}

module.exports = { readPPM };
