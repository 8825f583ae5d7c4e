// A WebSocket client that speaks permessage-deflate as browsers and Node services do (the `ws`
// package): connects to the URL it is given, subscribes to a channel, sends one request big
// enough for `ws` to compress, reads `count` data messages, then prints what it saw as one
// JSON line. Run by tests/integration/daemon_compression_test.cpp (and usable by hand).
//
//   node ws_deflate_client.mjs ws://127.0.0.1:8000/streaming/ws stream:signals:AAPL 20 [--plain]
import WebSocket from 'ws';

const [url, channel, countText, mode] = process.argv.slice(2);
const count = Number(countText);
const ws = new WebSocket(url, { perMessageDeflate: mode !== '--plain' });
const seqs = [];
let pong = false;
const done = (extra = {}) => {
  const bytes = ws._socket ? ws._socket.bytesRead : 0;
  console.log(JSON.stringify({ extensions: ws.extensions, pong, seqs, bytes_read: bytes, ...extra }));
  ws.close();
  process.exit(extra.error ? 1 : 0);
};
setTimeout(() => done({ error: 'timed out' }), 20000);
ws.on('error', (e) => done({ error: String(e) }));
ws.on('message', (raw) => {
  const message = JSON.parse(raw.toString());
  if (message.type === 'connected') {
    // Over ws's 1 KiB threshold: this request goes compressed, and must come back as a pong.
    ws.send(JSON.stringify({ action: 'ping', id: 'x'.repeat(2000) }));
    ws.send(JSON.stringify({ action: 'subscribe', channels: [channel] }));
  } else if (message.type === 'pong') {
    pong = message.id === 'x'.repeat(2000);
  } else if (message.type === 'subscribed') {
    console.log('ready');
  } else if (message.type === 'data') {
    seqs.push(message.message.metadata.seq);
    if (seqs.length === count) done();
  } else if (message.type === 'error') {
    done({ error: message.detail });
  }
});
