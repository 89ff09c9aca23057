/**
 * Kerberos 5 AES enctypes (ts/crypto/krb5): the published vectors of RFC 3961
 * A.1 (n-fold), RFC 3962 appendix B (string-to-key, AES-CTS) and RFC 8009
 * appendix A (string-to-key, Ke/Ki/Kc, encryption, checksums), a cross-check
 * against MIT Kerberos for 17/18 (which have no RFC encryption vectors), then
 * round trips, tampering and argument checks.
 */
import { describe, expect, it } from 'vitest';
import { aesCtsDecrypt, aesCtsEncrypt } from '../../ts/crypto/krb5/cts.js';
import { krb5DeriveKey } from '../../ts/crypto/krb5/enctypes.js';
import { KRB5_ENCTYPES, type Krb5Enctype, krb5Enctype, krb5EnctypeForChecksum, nfold } from '../../ts/crypto/krb5/index.js';
import { CryptoError } from '../../ts/errors.js';

/** Hex as the RFCs print it: in groups, over several lines, either case. */
const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const be32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const enc = (etype: number): Krb5Enctype => krb5Enctype(etype)!;
const ALL = [17, 18, 19, 20];

/** The code of the CryptoError `fn` throws (fails the test if it throws anything else, or nothing). */
function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    return (e as CryptoError).code;
  }
  throw new Error('expected a CryptoError');
}

describe('n-fold (RFC 3961 A.1)', () => {
  const vectors: [number, string, string][] = [
    [64, '012345', 'be072631276b1955'],
    [56, 'password', '78a07b6caf85fa'],
    [64, 'Rough Consensus, and Running Code', 'bb6ed30870b7f0e0'],
    [168, 'password', '59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e'],
    [192, 'MASSACHVSETTS INSTITVTE OF TECHNOLOGY', 'db3b0d8f0b061e603282b308a50841229ad798fab9540c1b'],
    [168, 'Q', '518a54a2 15a8452a 518a54a2 15a8452a 518a54a2 15'],
    [168, 'ba', 'fb25d531 ae897449 9f52fd92 ea9857c4 ba24cf29 7e'],
    [64, 'kerberos', '6b657262 65726f73'],
    [128, 'kerberos', '6b657262 65726f73 7b9b5b2b 93132b93'],
    [168, 'kerberos', '8372c236 344e5f15 50cd0747 e15d62ca 7a5a3bce a4'],
    [256, 'kerberos', '6b657262 65726f73 7b9b5b2b 93132b93 5c9bdcda d95c9899 c4cae4de e6d6cae4'],
  ];
  it.each(vectors)('%i-fold("%s")', (bits, input, out) => {
    expect(hex(nfold(ascii(input), bits / 8))).toBe(hex(h(out)));
  });

  it('refuses an empty input or a non-positive size', () => {
    expect(errorCode(() => nfold(new Uint8Array(0), 16))).toBe('ERR_KRB5_CRYPTO');
    expect(errorCode(() => nfold(ascii('x'), 0))).toBe('ERR_KRB5_CRYPTO');
  });
});

describe('AES-CTS (RFC 3962 appendix B)', () => {
  const key = h('636869636b656e207465726979616b69'); // "chicken teriyaki"
  const input = ascii("I would like the General Gau's Chicken, please, and wonton soup.");
  const vectors: [number, string][] = [
    [17, 'c6353568f2bf8cb4d8a580362da7ff7f 97'],
    [31, 'fc00783e0efdb2c1d445d4c8eff7ed22 9768726 8d6ecccc0c07b25e25ecfe5'],
    [32, '39312523a78662d5be7fcbcc98ebf5a8 97687268d6ecccc0c07b25e25ecfe584'],
    [47, '97687268d6ecccc0c07b25e25ecfe584 b3fffd940c16a18c1b5549d2f838029e 39312523a78662d5be7fcbcc98ebf5'],
    [48, '97687268d6ecccc0c07b25e25ecfe584 9dad8bbb96c4cdc03bc103e1a194bbd8 39312523a78662d5be7fcbcc98ebf5a8'],
    [
      64,
      '97687268d6ecccc0c07b25e25ecfe584 39312523a78662d5be7fcbcc98ebf5a8 4807efe836ee89a526730dbc2f7bc840 9dad8bbb96c4cdc03bc103e1a194bbd8',
    ],
  ];
  it.each(vectors)('%i bytes encrypt and decrypt', (len, out) => {
    expect(input.length).toBe(64);
    const pt = input.subarray(0, len);
    expect(hex(aesCtsEncrypt(key, pt))).toBe(hex(h(out)));
    expect(hex(aesCtsDecrypt(key, h(out)))).toBe(hex(pt));
  });

  it('round-trips 16..80 bytes with AES-128 and AES-256, with and without an IV', () => {
    const data = Buffer.from(Array.from({ length: 80 }, (_, i) => (i * 37 + 11) & 0xff));
    const iv = Buffer.from(Array.from({ length: 16 }, (_, i) => 0xf0 ^ i));
    for (const k of [h('00112233445566778899aabbccddeeff'), Buffer.alloc(32, 0x5a)]) {
      for (let n = 16; n <= 80; n++) {
        const pt = data.subarray(0, n);
        for (const v of [undefined, iv]) {
          const ct = aesCtsEncrypt(k, pt, v);
          expect(ct.length).toBe(n);
          expect(hex(aesCtsDecrypt(k, ct, v))).toBe(hex(pt));
        }
      }
    }
  });

  it('is plain AES for a single block, and differs with a non-zero IV', () => {
    // AES(key, first block): C1 of the longer vectors (the second block of the 32-byte one).
    const one = aesCtsEncrypt(key, input.subarray(0, 16));
    expect(hex(one)).toBe('97687268d6ecccc0c07b25e25ecfe584');
    expect(hex(aesCtsEncrypt(key, input.subarray(0, 16), Buffer.alloc(16, 1)))).not.toBe(hex(one));
  });

  it('refuses inputs under one block, bad key and IV sizes', () => {
    expect(errorCode(() => aesCtsEncrypt(key, input.subarray(0, 15)))).toBe('ERR_KRB5_CRYPTO');
    expect(errorCode(() => aesCtsDecrypt(key, input.subarray(0, 15)))).toBe('ERR_KRB5_CRYPTO');
    expect(errorCode(() => aesCtsEncrypt(Buffer.alloc(24), input))).toBe('ERR_KRB5_CRYPTO');
    expect(errorCode(() => aesCtsEncrypt(key, input, Buffer.alloc(8)))).toBe('ERR_KRB5_CRYPTO');
  });
});

describe('string-to-key, aes128/256-cts-hmac-sha1-96 (RFC 3962 appendix B)', () => {
  // [iterations, pass phrase, salt, 128-bit AES key, 256-bit AES key]
  const vectors: [number, string, Uint8Array, string, string][] = [
    [1, 'password', ascii('ATHENA.MIT.EDUraeburn'), '42263c6e89f4fc28b8df68ee09799f15',
      'fe697b52bc0d3ce14432ba036a92e65b bb52280990a2fa27883998d72af30161'],
    [2, 'password', ascii('ATHENA.MIT.EDUraeburn'), 'c651bf29e2300ac27fa469d693bdda13',
      'a2e16d16b36069c135d5e9d2e25f8961 02685618b95914b467c67622225824ff'],
    [1200, 'password', ascii('ATHENA.MIT.EDUraeburn'), '4c01cd46d632d01e6dbe230a01ed642a',
      '55a6ac740ad17b48469410 51e1e8b0a7 548d93b0ab30a8bc3ff16280382b8c2a'],
    [5, 'password', h('1234567878563412'), 'e9b23d52273747dd5c35cb55be619d8e',
      '97a4e786be20d81a382d5ebc96d5909c abcdadc87ca48f574504159f16c36e31'],
    [1200, 'X'.repeat(64), ascii('pass phrase equals block size'), '59d1bb789a828b1aa54ef9c2883f69ed',
      '89adee3608db8bc71f1bfbfe459486b0 5618b70cbae22092534e56c553ba4b34'],
    [1200, 'X'.repeat(65), ascii('pass phrase exceeds block size'), 'cb8005dc5f90179a7f02104c0018751d',
      'd78c5c9cb872a8c9dad4697f0bb5b2d2 1496c82beb2caeda2112fceea057401b'],
    // g-clef, U+1D11E: UTF-8 f0 9d 84 9e.
    [50, '\u{1D11E}', ascii('EXAMPLE.COMpianist'), 'f149c1f2e154a73452d43e7fe62a56e5',
      '4b6d9839f84406df1f09cc166db4b83c 571848b784a3d6bdc346589a3e393f9e'],
  ];
  it.each(vectors)('%i iterations, %s', (iter, pass, salt, k128, k256) => {
    expect(hex(enc(17).stringToKey(pass, salt, be32(iter)))).toBe(hex(h(k128)));
    expect(hex(enc(18).stringToKey(pass, salt, be32(iter)))).toBe(hex(h(k256)));
  });

  it('takes the pass phrase as bytes too, and defaults to 4096 iterations', () => {
    const salt = 'EXAMPLE.COMuser';
    expect(hex(enc(17).stringToKey(h('f09d849e'), 'EXAMPLE.COMpianist', be32(50)))).toBe('f149c1f2e154a73452d43e7fe62a56e5');
    expect(hex(enc(17).stringToKey('pw', salt))).toBe(hex(enc(17).stringToKey('pw', salt, be32(4096))));
  });

  it('refuses malformed params', () => {
    expect(errorCode(() => enc(17).stringToKey('pw', 'salt', h('001000')))).toBe('ERR_KRB5_CRYPTO');
    expect(errorCode(() => enc(18).stringToKey('pw', 'salt', be32(0)))).toBe('ERR_KRB5_CRYPTO');
  });
});

describe('aes128-cts-hmac-sha256-128 and aes256-cts-hmac-sha384-192 (RFC 8009 appendix A)', () => {
  const base19 = h('3705D96080C17728A0E800EAB6E0D23C');
  const base20 = h('6D404D37FAF79F9DF0D33568D320669800EB4836472EA8A026D16B7182460C52');

  it('string-to-key: 32768 iterations, "password", random salt | "ATHENA.MIT.EDUraeburn"', () => {
    const salt = Buffer.concat([h('10DF9DD783E5BC8ACEA1730E74355F61'), ascii('ATHENA.MIT.EDUraeburn')]);
    expect(hex(enc(19).stringToKey('password', salt))).toBe(hex(h('089BCA48B105EA6EA77CA5D2F39DC5E7')));
    expect(hex(enc(20).stringToKey('password', salt, be32(32768)))).toBe(
      hex(h('45BD806DBF6A833A9CFFC1C94589A222367A79BC21C413718906E9F578A78467')),
    );
  });

  it('key derivation, usage 2', () => {
    expect(hex(krb5DeriveKey(19, base19, 2, 'Kc'))).toBe(hex(h('B31A018A48F54776F403E9A396325DC3')));
    expect(hex(krb5DeriveKey(19, base19, 2, 'Ke'))).toBe(hex(h('9B197DD1E8C5609D6E67C3E37C62C72E')));
    expect(hex(krb5DeriveKey(19, base19, 2, 'Ki'))).toBe(hex(h('9FDA0E56AB2D85E1569A688696C26A6C')));
    expect(hex(krb5DeriveKey(20, base20, 2, 'Kc'))).toBe(hex(h('EF5718BE86CC84963D8BBB5031E9F5C4BA41F28FAF69E73D')));
    expect(hex(krb5DeriveKey(20, base20, 2, 'Ke'))).toBe(
      hex(h('56AB22BEE63D82D7BC5227F6773F8EA7A5EB1C825160C38312980C442E5C7E49')),
    );
    expect(hex(krb5DeriveKey(20, base20, 2, 'Ki'))).toBe(hex(h('69B16514E3CD8E56B82010D5C73012B622C4D00FFC23ED1F')));
  });

  // [etype, confounder, plaintext, ciphertext = AES output | truncated HMAC], usage 2
  const empty = '';
  const short = '000102030405';
  const block = '000102030405060708090A0B0C0D0E0F';
  const long = '000102030405060708090A0B0C0D0E0F1011121314';
  const encryptions: [number, string, string, string][] = [
    [19, '7E5895EAF2672435BAD817F545A37148', empty,
      'EF85FB890BB8472F4DAB20394DCA781D AD877EDA39D50C870C0D5A0A8E48C718'],
    [19, '7BCA285E2FD4130FB55B1A5C83BC5B24', short,
      '84D7F30754ED987BAB0BF3506BEB09CFB55402CEF7E6 877CE99E247E52D16ED4421DFDF8976C'],
    [19, '56AB21713FF62C0A1457200F6FA9948F', block,
      '3517D640F50DDC8AD3628722B3569D2AE07493FA8263254080EA65C1008E8FC2 95FB4852E7D83E1E7C48C37EEBE6B0D3'],
    [19, 'A7A4E29A4728CE10664FB64E49AD3FAC', long,
      '720F73B18D9859CD6CCB4346115CD336C70F58EDC0C4437C5573544C31C813BCE1E6D072C1 86B39A413C2F92CA9B8334A287FFCBFC'],
    [20, 'F764E9FA15C276478B2C7D0C4E5F58E4', empty,
      '41F53FA5BFE7026D91FAF9BE959195A0 58707273A96A40F0A01960621AC612748B9BBFBE7EB4CE3C'],
    [20, 'B80D3251C1F6471494256FFE712D0B9A', short,
      '4ED7B37C2BCAC8F74F23C1CF07E62BC7B75FB3F637B9 F559C7F664F69EAB7B6092237526EA0D1F61CB20D69D10F2'],
    [20, '53BF8A0D105265D4E276428624CE5E63', block,
      'BC47FFEC7998EB91E8115CF8D19DAC4BBBE2E163E87DD37F49BECA92027764F6 8CF51F14D798C2273F35DF574D1F932E40C4FF255B36A266'],
    [20, '763E65367E864F02F55153C7E3B58AF1', long,
      '40013E2DF58E8751957D2878BCD2D6FE101CCFD556CB1EAE79DB3C3EE86429F2B2A602AC86 FEF6ECB647D6295FAE077A1FEB517508D2C16B4192E01F62'],
  ];
  it.each(encryptions)('enctype %i encryption, confounder %s', (etype, conf, pt, ct) => {
    const key = etype === 19 ? base19 : base20;
    expect(hex(enc(etype).encrypt(key, 2, h(pt), h(conf)))).toBe(hex(h(ct)));
    expect(hex(enc(etype).decrypt(key, 2, h(ct)))).toBe(hex(h(pt)));
  });

  it('checksums, usage 2', () => {
    const msg = h(long);
    const c19 = h('D78367186643D67B411CBA9139FC1DEE');
    const c20 = h('45EE791567EEFCA37F4AC1E0222DE80D43C3BFA06699672A');
    expect(hex(enc(19).checksum(base19, 2, msg))).toBe(hex(c19));
    expect(hex(enc(20).checksum(base20, 2, msg))).toBe(hex(c20));
    expect(enc(19).verifyChecksum(base19, 2, msg, c19)).toBe(true);
    expect(enc(20).verifyChecksum(base20, 2, msg, c20)).toBe(true);
  });
});

describe('cross-check with MIT Kerberos 1.20.1 (krb5_c_encrypt / make_checksum / string_to_key)', () => {
  // Key = bytes 00 01 02 ... ; plaintext byte i = (7i + 1) mod 256; encryption usage 3, checksum usage 7.
  const mit: Record<number, { ct: string[]; ck: string; s2k: string }> = {
    17: {
      ct: [
        '5f14f1b886d4090af0d3df63725e755bfcb53d83ba51cb4a7045d6cd',
        '0f4230f0393a0d3f224e4f16354e4752ea3a5ea510e5959df118d64a0232d91d1d',
        '211d6e535c1088bdf95b2f405136850a681b081c0ebd75f579a8379a4d31e73d55629f37c88ce21d1cb31919',
        '5168b8e225cf7e6f5eddeeda7dc198112d7a4ca7a88b5285c34ab17f235b7f6c8b01781b46c187e4555e540c95908588c9974b3e0f818cbde37130f65f',
      ],
      ck: 'a47d46c6895a86e70cd1893a',
      s2k: '56d2944df78b310568731347e678e1e1',
    },
    18: {
      ct: [
        'a2df933d9ff007a36c7ea24c75b5c1cb642605e8294a680d1c120be3',
        '850c2cd43868b948f25d47459caa0e309eb3ade36e175259e4a1924b2a5a8d0b0b',
        'cac19c54233781a5e161c3411475ba78f3f689df85f80138e3f81b31c4adb109acaca3c6a6563f504765f0ca',
        '40578e6024502c4e28a26c25bc75de1d4e991d135039e1739fc56861e971b394bb07de4923de9cd9a90564e0561fde98fa73c7ada83e9365ebca907fd6',
      ],
      ck: '2a3d9251dbe8857ab17e707a',
      s2k: 'eeeac363344840879e406a7e8b9871bb3a5da66886d82bb5efc70415aaad1f1d',
    },
    19: {
      ct: [
        '08edba0d6b00b595e7c752d0be2cb3d9de8ec75820164dd80f17a0046f977067',
        'ac400b971d867464952799a3e619641fc79795dd79525a6657f993535fb9519b0461080338',
        '3019375722f61d8fd61dafd905041681beb1638d77fb636d26309e7632afd161ae6418efa2eb8a11e3c775647d3ad653',
        '65deef8fd751c82fc01187f48a0db57c81a4d9bb0fac96551694fcd97fdd75e5ad8a13eddf772624a08485b3aa37be44d224af21fe970b608ca9d76d3775af6736',
      ],
      ck: 'afa5ecad1ddd608713785a675b409450',
      s2k: '13cdb105ac0c59384305bc9cd3fa1afc',
    },
    20: {
      ct: [
        '0598871b4abc1ec57df1215581106225e1d82edd4632ac241cac2be0ae8f1c50080634088769ee9f',
        '9fa05947572f04160b49957ba81820cbf28bacc5443b8c4d5226be47e3901b31913086544048f66c5fffea4615',
        'cab8d88168a0393c1319bae85238dd321815cdf136ef151d65187cc4b7099105c56bfa0f40b48ea3c22b7389ab78b531bab80b16e2a4248c',
        'bc89c9aea2f726340c619ac9462d98ac96f2b19674dfb080619e66de38c83a0d1312f5c9be88be462a4de96fbdbd167e069a9383dbc5a053e1e323d351a97e6069ea356b0c4a3d8064',
      ],
      ck: 'a9ffafb175a1939b4d93c8f483424d77f88e8ee3e7c53e38',
      s2k: '2b8181aa02159c8583b16fddd0cbca1975998f9353794742570c5bcb8f75081d',
    },
  };
  it.each(ALL)('enctype %i: decrypts MIT ciphertexts, same checksum and string-to-key', (etype) => {
    const e = enc(etype);
    const key = Buffer.from(Array.from({ length: e.keyLength }, (_, i) => i));
    [0, 5, 16, 33].forEach((len, i) => {
      const pt = Buffer.from(Array.from({ length: len }, (_, j) => (7 * j + 1) & 0xff));
      expect(hex(e.decrypt(key, 3, h(mit[etype]!.ct[i]!)))).toBe(hex(pt));
    });
    expect(hex(e.checksum(key, 7, ascii('MIT cross-check')))).toBe(mit[etype]!.ck);
    // Default iteration count, non-ASCII pass phrase ("paßword", UTF-8).
    expect(hex(e.stringToKey('pa\u00dfword', 'EXAMPLE.COMuser'))).toBe(mit[etype]!.s2k);
  });
});

describe.each(ALL)('enctype %i', (etype) => {
  const e = enc(etype);
  const key = Buffer.from(Array.from({ length: e.keyLength }, (_, i) => (i * 29 + 3) & 0xff));

  it('round-trips plaintexts of 0..70 bytes', () => {
    for (let n = 0; n <= 70; n++) {
      const pt = Buffer.from(Array.from({ length: n }, (_, i) => (i * 13 + n) & 0xff));
      const ct = e.encrypt(key, 24, pt);
      expect(ct.length).toBe(16 + n + e.checksumLength);
      expect(hex(e.decrypt(key, 24, ct))).toBe(hex(pt));
    }
  });

  it('uses a fresh random confounder', () => {
    const pt = ascii('same plaintext');
    expect(hex(e.encrypt(key, 1, pt))).not.toBe(hex(e.encrypt(key, 1, pt)));
  });

  it('refuses every single-bit flip of the ciphertext', () => {
    const ct = e.encrypt(key, 22, ascii('a message of thirty-seven bytes long!'));
    for (let i = 0; i < ct.length; i++) {
      for (let b = 0; b < 8; b++) {
        const bad = Buffer.from(ct);
        bad[i]! ^= 1 << b;
        expect(errorCode(() => e.decrypt(key, 22, bad))).toBe('ERR_KRB5_INTEGRITY');
      }
    }
  });

  it('refuses the wrong usage or key, and a too-short ciphertext', () => {
    const ct = e.encrypt(key, 22, ascii('hello'));
    expect(errorCode(() => e.decrypt(key, 23, ct))).toBe('ERR_KRB5_INTEGRITY');
    expect(errorCode(() => e.decrypt(e.randomKey(), 22, ct))).toBe('ERR_KRB5_INTEGRITY');
    const min = e.encrypt(key, 22, new Uint8Array(0));
    expect(min.length).toBe(16 + e.checksumLength);
    expect(e.decrypt(key, 22, min).length).toBe(0);
    expect(errorCode(() => e.decrypt(key, 22, min.subarray(1)))).toBe('ERR_KRB5_CRYPTO');
  });

  it('verifies checksums, and refuses any changed byte, the wrong usage or length', () => {
    const data = ascii('checksummed data');
    const ck = e.checksum(key, 25, data);
    expect(ck.length).toBe(e.checksumLength);
    expect(e.verifyChecksum(key, 25, data, ck)).toBe(true);
    expect(e.verifyChecksum(key, 26, data, ck)).toBe(false);
    expect(e.verifyChecksum(key, 25, data, ck.subarray(1))).toBe(false);
    for (let i = 0; i < data.length; i++) {
      const bad = Buffer.from(data);
      bad[i]! ^= 0x01;
      expect(e.verifyChecksum(key, 25, bad, ck)).toBe(false);
    }
    for (let i = 0; i < ck.length; i++) {
      const bad = Buffer.from(ck);
      bad[i]! ^= 0x80;
      expect(e.verifyChecksum(key, 25, data, bad)).toBe(false);
    }
  });

  it('validates key length, usage and confounder', () => {
    const wrong = Buffer.alloc(e.keyLength === 16 ? 32 : 16);
    expect(errorCode(() => e.encrypt(wrong, 1, ascii('x')))).toBe('ERR_KRB5_CRYPTO');
    expect(errorCode(() => e.checksum(wrong, 1, ascii('x')))).toBe('ERR_KRB5_CRYPTO');
    expect(errorCode(() => e.encrypt(key, -1, ascii('x')))).toBe('ERR_KRB5_CRYPTO');
    expect(errorCode(() => e.encrypt(key, 1, ascii('x'), new Uint8Array(8)))).toBe('ERR_KRB5_CRYPTO');
  });

  it('makes random keys of keyLength bytes', () => {
    const a = e.randomKey();
    expect(a.length).toBe(e.keyLength);
    expect(hex(a)).not.toBe(hex(e.randomKey()));
  });
});

describe('lookups', () => {
  it('describes the four enctypes and maps checksum types to them', () => {
    const rows = ALL.map((n) => {
      const e = enc(n);
      return [e.etype, e.name, e.keyLength, e.checksumType, e.checksumLength];
    });
    expect(rows).toEqual([
      [17, 'aes128-cts-hmac-sha1-96', 16, 15, 12],
      [18, 'aes256-cts-hmac-sha1-96', 32, 16, 12],
      [19, 'aes128-cts-hmac-sha256-128', 16, 19, 16],
      [20, 'aes256-cts-hmac-sha384-192', 32, 20, 24],
    ]);
    expect([15, 16, 19, 20].map((c) => krb5EnctypeForChecksum(c)?.etype)).toEqual([17, 18, 19, 20]);
    expect(krb5Enctype(23)).toBeUndefined();
    expect(krb5EnctypeForChecksum(17)).toBeUndefined();
    expect(KRB5_ENCTYPES).toEqual([18, 17, 20, 19]);
  });

  it('stays correct past the derived-key cache bound', () => {
    const e = enc(18);
    const keys = Array.from({ length: 100 }, (_, i) => Buffer.alloc(32, i));
    const cts = keys.map((k, i) => e.encrypt(k, i, be32(i)));
    keys.forEach((k, i) => expect(hex(e.decrypt(k, i, cts[i]!))).toBe(hex(be32(i))));
  });
});
