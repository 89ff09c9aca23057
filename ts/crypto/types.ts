/**
 * The crypto layer's contract with the transport. Nothing above `ts/crypto`
 * knows which backend serves a primitive; it asks `ts/crypto/index.ts` for a
 * sealer, an opener, a hash, a key agreement or a signature verifier by its
 * SSH wire name and gets one of these interfaces back.
 */

/** Where a primitive's implementation lives. */
export type BackendName = 'wasm' | 'native' | 'js';

/**
 * Keys for one direction of the binary packet protocol, as derived by kex
 * (RFC 4253 section 7.2). `macKey` is empty for AEAD ciphers.
 */
export interface DirectionKeys {
  /** Cipher wire name, e.g. `aes128-gcm@openssh.com`, or `none`. */
  cipher: string;
  /** MAC wire name, e.g. `hmac-sha2-256-etm@openssh.com`; ignored (may be `none`) for AEAD ciphers. */
  mac: string;
  encKey: Uint8Array;
  iv: Uint8Array;
  macKey: Uint8Array;
}

/** Static facts about a cipher, used to derive keys and lay out packets. */
export interface CipherInfo {
  name: string;
  keyLength: number;
  ivLength: number;
  /** Padding multiple (at least 8). */
  blockSize: number;
  /** true for chacha20-poly1305@openssh.com and the GCM ciphers: no separate MAC. */
  aead: boolean;
  /** Tag length for AEAD ciphers, else 0. */
  tagLength: number;
  /** Bytes after which a rekey is due for this cipher (RFC 4344 section 3.2), before any user limit. */
  rekeyBytes: number;
}

/** Static facts about a MAC. */
export interface MacInfo {
  name: string;
  keyLength: number;
  /** Bytes appended to each packet. */
  length: number;
  /** Encrypt-then-MAC: the packet length is sent in clear and the MAC covers ciphertext. */
  etm: boolean;
}

/**
 * Seals outgoing packets for one direction. A rekey replaces the instance.
 *
 * Packets are handed over laid out back to back in one buffer, each as
 *   [uint32 packet_length][packet_length bytes: padding_length, payload, padding][macLength bytes reserved]
 * in plaintext; `sealPackets` encrypts them in place (length field included
 * where the construction encrypts it) and writes each MAC or tag into the
 * reserved bytes. One call seals a whole batch, so the wasm backend crosses
 * the JS/wasm boundary once per batch, not once per packet.
 */
export interface PacketSealer {
  readonly cipher: string;
  readonly mac: string;
  /** Padding multiple. */
  readonly blockSize: number;
  /** Bytes reserved after each packet for its MAC or tag. */
  readonly macLength: number;
  /**
   * true when the 4-byte length field counts toward the block-size multiple
   * (classic encrypt-and-MAC); false for ETM MACs and AEAD ciphers, where
   * padding_length + payload + padding alone must be a multiple.
   */
  readonly padsLengthField: boolean;
  /**
   * Seal `count` packets starting at `buf[offset]`. The first uses sequence
   * number `seq`, the next `seq + 1`, and so on, modulo 2^32.
   * Throws CryptoError if a length field is inconsistent with the buffer.
   */
  sealPackets(buf: Uint8Array, offset: number, count: number, seq: number): void;
}

/**
 * Opens incoming packets for one direction. A rekey replaces the instance.
 */
export interface PacketOpener {
  readonly cipher: string;
  readonly mac: string;
  readonly blockSize: number;
  readonly macLength: number;
  /**
   * Open as many complete packets as `buf[start, end)` holds, at most
   * `spans.length / 2` of them. For packet i, writes
   *   spans[2i]   = offset in buf of its padding_length byte (just after the length field),
   *   spans[2i+1] = its packet_length,
   * with the packet decrypted in place, so its payload is
   *   buf.subarray(spans[2i] + 1, spans[2i] + spans[2i+1] - buf[spans[2i]]).
   * Packet i ends (MAC included) at spans[2i] + spans[2i+1] + macLength.
   * Sequence numbers start at `seq` and increase by one per packet.
   *
   * Returns how many packets were opened (0 when the first one is not
   * complete yet). An incomplete trailing packet is left for the next call
   * with the same start; the opener may keep state about it (a classic
   * cipher decrypts the first block to learn the length).
   *
   * Throws IntegrityError on a bad MAC or tag, ProtocolError when a length is
   * not a valid packet length or exceeds `maxPacketLength` (checked as soon as
   * the length is known, before waiting for the rest).
   *
   * During key exchange the transport passes a `spans` of length 2 so that
   * no packet after NEWKEYS is opened with the old keys.
   *
   * Optional `bodies` (an empty array from the caller): a construction whose
   * primitive produces the plaintext in a fresh buffer anyway (node:crypto's
   * `update()`) may store packet i's decrypted body there, as
   * `bodies[i]` = the packet_length bytes (padding_length, payload, padding),
   * instead of copying it back into `buf`; `spans` are written all the same.
   * Where `bodies[i]` stays undefined the body is in `buf` as described above.
   * The caller owns the stored buffers. Openers may ignore `bodies`.
   */
  openPackets(buf: Uint8Array, start: number, end: number, seq: number, maxPacketLength: number, spans: Uint32Array, bodies?: (Uint8Array | undefined)[]): number;
}

/** Incremental hash (SHA-1, SHA-256, SHA-384, SHA-512). */
export interface Hash {
  update(data: Uint8Array): Hash;
  digest(): Uint8Array;
}

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** One side of an ephemeral key agreement (curve25519, ECDH, finite-field DH, KEM hybrids). */
export interface KeyAgreement {
  /** Our public value, as it goes on the wire (Q_C / Q_S / e / f, without SSH string framing). */
  readonly publicKey: Uint8Array;
  /**
   * The shared secret from the peer's public value, as the raw bytes the
   * algorithm defines (X25519: 32 bytes; ECDH/DH: the unsigned big-endian
   * integer). The kex layer encodes it as an mpint or string as its RFC says.
   * Throws CryptoError on an invalid peer value.
   */
  computeSecret(peerPublic: Uint8Array): Uint8Array;
}

/** Verifies SSH signatures for one public key. */
export interface SignatureVerifier {
  /** The key's algorithm name, e.g. `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`. */
  readonly keyType: string;
  /**
   * Verify `signature` (the inner blob of an SSH signature: for Ed25519 the
   * 64 raw bytes, for ECDSA the SSH-encoded (r, s), for RSA the raw
   * signature) made with `algorithm` (e.g. `rsa-sha2-256`) over `data`.
   */
  verify(algorithm: string, data: Uint8Array, signature: Uint8Array): boolean;
}

/** Which backend serves a primitive, and why. */
export interface PrimitiveChoice {
  /** The backend serving it: `wasm`, `native` (node:crypto) or `js`. */
  backend: BackendName;
  /**
   * Why, for diagnostics: the implementation chosen, the default order, any
   * `SSHWIRE_BACKEND` override and the candidates skipped. Free text, not a stable format.
   */
  reason: string;
}

/** What `getBackendInfo()` returns. */
export interface BackendInfo {
  /** What `SSHWIRE_BACKEND` forced, if anything. */
  forced: BackendName | null;
  /** What was detected at load time. */
  available: Record<BackendName, { available: boolean; detail: string }>;
  /** For every primitive or construction by wire name: which backend serves it and why. */
  primitives: Record<string, PrimitiveChoice>;
}

/**
 * A private key able to make SSH signatures. The transport's server role signs
 * the exchange hash with one; user auth signs its session data with one. The
 * keys layer (file formats, agent) produces objects of this shape.
 */
export interface Signer {
  /** The key's type name, e.g. `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`. */
  readonly keyType: string;
  /** The SSH public key blob (RFC 4253 section 6.6). */
  readonly publicKeyBlob: Uint8Array;
  /** Signature algorithms this key can make, best first (RSA: rsa-sha2-512, rsa-sha2-256, ssh-rsa). */
  readonly signatureAlgorithms: readonly string[];
  /**
   * Sign `data` with `algorithm` and return the inner signature blob (the
   * same form `SignatureVerifier.verify` takes). May be async (agent keys).
   */
  sign(algorithm: string, data: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** A post-quantum KEM (ML-KEM-768, sntrup761) as the hybrid kex uses it. */
export interface Kem {
  readonly name: string;
  readonly publicKeyLength: number;
  readonly ciphertextLength: number;
  /** Client side: a fresh key pair. */
  keypair(): { publicKey: Uint8Array; secretKey: Uint8Array };
  /** Server side: encapsulate to the client's public key. */
  encapsulate(publicKey: Uint8Array): { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  /** Client side: recover the shared secret. */
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

/**
 * Private key material in the form the keys layer parses out of files and
 * the crypto layer turns into a `Signer` (`createSigner`). Integers are
 * unsigned big-endian bytes.
 */
export type PrivateKeyMaterial =
  | { type: 'ssh-ed25519'; seed: Uint8Array; publicKey: Uint8Array }
  | {
      type: 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521';
      /** Private scalar. */
      d: Uint8Array;
      /** Public point, uncompressed SEC1 (0x04 || X || Y). */
      q: Uint8Array;
    }
  | { type: 'ssh-rsa'; n: Uint8Array; e: Uint8Array; d: Uint8Array; p: Uint8Array; q: Uint8Array; iqmp: Uint8Array }
  /** DSA (`ssh-dss`): domain parameters p, q, g, public y, private x. */
  | { type: 'ssh-dss'; p: Uint8Array; q: Uint8Array; g: Uint8Array; y: Uint8Array; x: Uint8Array };
