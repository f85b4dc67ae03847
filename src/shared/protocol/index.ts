export * from './messages.js';
export * from './transport.js';
export * from './payloads.js';
export * from './codec.js';
export * from './chunking.js';
