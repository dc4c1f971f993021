// Loads an exported LayersModel over HTTP with TensorFlow.js alone (no selfsup code), runs it on
// the input at INPUT_URL ({shape, data}, NHWC) and prints {shape, data} of the output as JSON.
// usage: node load_tfjs_model.mjs MODEL_URL INPUT_URL
import tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import tfl from '@tensorflow/tfjs-layers';

const [modelUrl, inputUrl] = process.argv.slice(2);
await tf.setBackend('cpu');
const model = await tfl.loadLayersModel(modelUrl);
const input = await (await globalThis.fetch(inputUrl)).json();
const y = model.predict(tf.tensor(input.data, input.shape));
process.stdout.write(`${JSON.stringify({ shape: y.shape, data: Array.from(y.dataSync()) })}\n`);
