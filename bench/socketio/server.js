// The benchmark's Socket.IO peer (see bench/README.md): clients join room `breaking` with
// `subscribe`; `POST /publish {headline}` emits an envelope shaped like LiveNews' to that room through
// @socket.io/redis-adapter, so every publish goes out on Redis pub/sub as a LiveNews node's does.
// Settings: PORT (HTTP port), REDIS_URL (redis://127.0.0.1:6379).
'use strict';

const http = require('node:http');
const { randomUUID } = require('node:crypto');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

const port = Number(process.env.PORT || 3000);
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const epoch = randomUUID().replaceAll('-', '');
let seq = 0;

const httpServer = http.createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/health') {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }

  if (request.method === 'POST' && request.url === '/publish') {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      let data;
      try {
        data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        response.writeHead(400).end();
        return;
      }

      const envelope = {
        topic: 'breaking',
        seq: ++seq,
        epoch,
        id: randomUUID().replaceAll('-', ''),
        type: 'breaking.published',
        at: new Date().toISOString(),
        data,
      };
      io.to('breaking').emit('event', envelope);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ seq: envelope.seq }));
    });
    return;
  }

  // Socket.IO handles its own path before this listener runs; everything else is unknown.
  if (!request.url.startsWith('/socket.io/')) {
    response.writeHead(404).end();
  }
});

// WebSocket only and no compression: the load client speaks raw Engine.IO v4 frames over WebSocket.
const io = new Server(httpServer, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });

io.on('connection', (socket) => {
  socket.on('subscribe', (room) => {
    socket.join(String(room));
    socket.emit('subscribed');
  });
});

async function main() {
  const pubClient = createClient({ url: redisUrl });
  const subClient = pubClient.duplicate();
  for (const client of [pubClient, subClient]) {
    client.on('error', (error) => console.error(`redis: ${error.message}`));
  }

  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient));
  httpServer.listen(port, '127.0.0.1');
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => process.exit(0));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
