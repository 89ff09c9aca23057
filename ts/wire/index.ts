export { SSHReader, mpintToBigInt } from './reader.js';
export { SSHWriter, bigIntToMpint } from './writer.js';
export * from './messages.js';
