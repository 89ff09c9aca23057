/**
 * SSH_MSG_KEXINIT (RFC 4253 section 7.1): encoding and bounded parsing.
 */
import { SSHReader, SSHWriter, MSG } from '../wire/index.js';
import type { KexInitLists } from './algorithms.js';

/** A parsed KEXINIT. `payload` is the exact bytes, needed for the exchange hash. */
export interface KexInit extends KexInitLists {
  cookie: Uint8Array;
  firstKexPacketFollows: boolean;
  payload: Uint8Array;
}

/** Name-lists longer than this are refused (OpenSSH's own lists are a few hundred bytes). */
const MAX_NAME_LIST = 64 * 1024;

/** Builds a KEXINIT payload. */
export function encodeKexInit(cookie: Uint8Array, lists: KexInitLists, firstKexPacketFollows = false): Uint8Array {
  const w = new SSHWriter(1024);
  w.byte(MSG.KEXINIT).raw(cookie);
  w.nameList(lists.kex).nameList(lists.serverHostKey);
  w.nameList(lists.cipherCS).nameList(lists.cipherSC);
  w.nameList(lists.macCS).nameList(lists.macSC);
  w.nameList(lists.compressionCS).nameList(lists.compressionSC);
  w.nameList(lists.languageCS).nameList(lists.languageSC);
  w.boolean(firstKexPacketFollows).uint32(0);
  return w.toBytes();
}

/** Parses a KEXINIT payload (message byte included). Throws ProtocolError when malformed. */
export function decodeKexInit(payload: Uint8Array): KexInit {
  const r = new SSHReader(payload, 'KEXINIT');
  r.byte();
  const cookie = r.raw(16);
  const kex = r.nameList(MAX_NAME_LIST);
  const serverHostKey = r.nameList(MAX_NAME_LIST);
  const cipherCS = r.nameList(MAX_NAME_LIST);
  const cipherSC = r.nameList(MAX_NAME_LIST);
  const macCS = r.nameList(MAX_NAME_LIST);
  const macSC = r.nameList(MAX_NAME_LIST);
  const compressionCS = r.nameList(MAX_NAME_LIST);
  const compressionSC = r.nameList(MAX_NAME_LIST);
  const languageCS = r.nameList(MAX_NAME_LIST);
  const languageSC = r.nameList(MAX_NAME_LIST);
  const firstKexPacketFollows = r.boolean();
  r.uint32(); // reserved
  // Trailing bytes are tolerated: RFC 4253 leaves room for future fields and
  // the exchange hash covers the whole payload anyway.
  return {
    cookie,
    kex,
    serverHostKey,
    cipherCS,
    cipherSC,
    macCS,
    macSC,
    compressionCS,
    compressionSC,
    languageCS,
    languageSC,
    firstKexPacketFollows,
    payload,
  };
}
