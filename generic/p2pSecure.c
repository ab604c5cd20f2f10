/*
 * p2pSecure.c --
 *
 *	The handshake of connections whose handlers have an -identity, and
 *	the sealing and opening of encrypted frames after it; node identities
 *	(hex, node ids). A SIGMA-style exchange on libsodium primitives:
 *	Ed25519 identities sign a BLAKE2b hash of the transcript, a MAC keyed
 *	from the network secret proves membership of the network, and the
 *	session keys come from an X25519 exchange of ephemeral keys mixed
 *	with the transcript hash and the network key. Frames are sealed with
 *	AES-256-GCM when both ends have it (AES-NI and PCLMUL), else with
 *	ChaCha20-Poly1305-IETF; nonces count the frames of each direction,
 *	and a key is replaced by a hash of itself after 4 GiB.
 *	doc/protocol.md gives it byte by byte. No Tcl and no libuv here, so that
 *	tests/fuzz/handshake_fuzz.c can drive it alone.
 */

#include <string.h>
#include <sodium.h>
#include "p2pFrame.h"
#include "p2pSecure.h"

#define OFF_TYPE	4
#define OFF_VERSION	5
#define OFF_FLAGS	6
#define OFF_IDPK	7
#define OFF_EPHPK	39
#define OFF_SIG2	71
#define OFF_MAC2	135
#define OFF_SIG3	5
#define OFF_MAC3	69

static const char transcriptLabel[] = "p2pjobs handshake v2";
static const char netKeyLabel[] = "p2pjobs network secret v1";
static const char rekeyLabel[] = "p2pjobs rekey v2";

static void	TranscriptHash(const P2pSecure *sPtr, size_t msg2Len,
		    unsigned char hash[32]);
static void	RoleProof(const unsigned char hash[32], int role,
		    unsigned char proof[33]);
static int	DeriveKeys(P2pSecure *sPtr);
static int	Fail(P2pSecure *sPtr, const char *error);
static crypto_aead_aes256gcm_state *AesState(P2pSecure *sPtr, int rx);
static void	Rekey(P2pSecure *sPtr, int rx);
static void	Nonce(uint64_t count, unsigned char nonce[12]);

/*
 *----------------------------------------------------------------------
 *
 * P2pSecureLibInit --
 *
 *	Initializes libsodium (safe to call more than once).
 *
 * Results:
 *	0 on success, -1 when libsodium cannot be used.
 *
 *----------------------------------------------------------------------
 */

int
P2pSecureLibInit(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pSecureInit --
 *
 *	Prepares the handshake state of one connection: our identity, a
 *	fresh ephemeral key pair and the key derived from the network
 *	secret. AES-256-GCM is offered when this CPU has it; the caller may
 *	clear offerAes, or lower rekeyBytes (for tests), before
 *	P2pSecureStart or P2pSecureHandle.
 *
 * Side effects:
 *	Overwrites *sPtr.
 *
 *----------------------------------------------------------------------
 */

void
P2pSecureInit(
    P2pSecure *sPtr,
    int role,
    const unsigned char *idPk,
    const unsigned char *idSk,
    const unsigned char *netSecret,
    size_t netSecretLen,
    int wantEncrypt)
{
    memset(sPtr, 0, sizeof(P2pSecure));
    sPtr->role = role;
    sPtr->state = (role == P2P_HS_CLIENT) ? P2P_HS_WAIT2 : P2P_HS_WAIT1;
    sPtr->wantEncrypt = wantEncrypt ? 1 : 0;
    memcpy(sPtr->idPk, idPk, 32);
    memcpy(sPtr->idSk, idSk, 64);
    crypto_kx_keypair(sPtr->ephPk, sPtr->ephSk);
    crypto_generichash(sPtr->netKey, 32, netSecret, netSecretLen,
	    (const unsigned char *) netKeyLabel, sizeof(netKeyLabel) - 1);
    sPtr->offerAes = P2pSecureHasAes();
    sPtr->rekeyBytes = P2P_REKEY_BYTES;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pSecureWipe --
 *
 *	Erases keys and state before the memory is freed.
 *
 *----------------------------------------------------------------------
 */

void
P2pSecureWipe(
    P2pSecure *sPtr)
{
    sodium_memzero(sPtr, sizeof(P2pSecure));
}

/*
 *----------------------------------------------------------------------
 *
 * P2pSecureStart --
 *
 *	The client's first message: magic, type 1, version, flags (wants
 *	encryption, can AES-256-GCM), identity key, ephemeral key.
 *
 * Results:
 *	The length of the body written to out (P2P_HS_MSG1_LEN), or 0 for
 *	a server.
 *
 *----------------------------------------------------------------------
 */

size_t
P2pSecureStart(
    P2pSecure *sPtr,
    unsigned char *out)
{
    unsigned char *m = sPtr->msg1;

    if (sPtr->role != P2P_HS_CLIENT) {
	return 0;
    }
    memcpy(m, P2P_HS_MAGIC, 4);
    m[OFF_TYPE] = 1;
    m[OFF_VERSION] = P2P_HS_VERSION;
    m[OFF_FLAGS] = (sPtr->wantEncrypt ? P2P_HS_FLAG_ENCRYPT : 0)
	    | (sPtr->offerAes ? P2P_HS_FLAG_AESGCM : 0);
    memcpy(m + OFF_IDPK, sPtr->idPk, 32);
    memcpy(m + OFF_EPHPK, sPtr->ephPk, 32);
    memcpy(out, m, P2P_HS_MSG1_LEN);
    return P2P_HS_MSG1_LEN;
}

/*
 * TranscriptHash: BLAKE2b-256 of the label, message 1 and the first
 * msg2Len bytes of message 2. RoleProof: what a side signs and MACs, a
 * role byte ('S' or 'C') and a transcript hash.
 */

static void
TranscriptHash(
    const P2pSecure *sPtr,
    size_t msg2Len,
    unsigned char hash[32])
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *) transcriptLabel,
	    sizeof(transcriptLabel) - 1);
    crypto_generichash_update(&st, sPtr->msg1, P2P_HS_MSG1_LEN);
    crypto_generichash_update(&st, sPtr->msg2, msg2Len);
    crypto_generichash_final(&st, hash, 32);
}

static void
RoleProof(
    const unsigned char hash[32],
    int role,
    unsigned char proof[33])
{
    proof[0] = (role == P2P_HS_SERVER) ? 'S' : 'C';
    memcpy(proof + 1, hash, 32);
}

static int
Fail(
    P2pSecure *sPtr,
    const char *error)
{
    sPtr->state = P2P_HS_FAILED;
    sPtr->error = error;
    return P2P_HS_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * DeriveKeys --
 *
 *	Session keys: the crypto_kx keys of the ephemerals, each hashed with
 *	the transcript hash of messages 1 and 2, keyed by the network key;
 *	expanded for AES-256-GCM when that was agreed.
 *
 * Results:
 *	0, or -1 when the peer's ephemeral key is unusable.
 *
 *----------------------------------------------------------------------
 */

static int
DeriveKeys(
    P2pSecure *sPtr)
{
    unsigned char rx[32], tx[32], hash[32], in[64];
    int status;

    if (sPtr->role == P2P_HS_CLIENT) {
	status = crypto_kx_client_session_keys(rx, tx, sPtr->ephPk,
		sPtr->ephSk, sPtr->peerEphPk);
    } else {
	status = crypto_kx_server_session_keys(rx, tx, sPtr->ephPk,
		sPtr->ephSk, sPtr->peerEphPk);
    }
    if (status != 0) {
	return -1;
    }
    TranscriptHash(sPtr, P2P_HS_MSG2_LEN, hash);
    memcpy(in + 32, hash, 32);
    memcpy(in, rx, 32);
    crypto_generichash(sPtr->rxKey, 32, in, 64, sPtr->netKey, 32);
    memcpy(in, tx, 32);
    crypto_generichash(sPtr->txKey, 32, in, 64, sPtr->netKey, 32);
    sodium_memzero(rx, sizeof(rx));
    sodium_memzero(tx, sizeof(tx));
    sodium_memzero(in, sizeof(in));
    sodium_memzero(sPtr->ephSk, sizeof(sPtr->ephSk));
    sPtr->txCount = sPtr->rxCount = 0;
    sPtr->txUsed = sPtr->rxUsed = 0;
    if (sPtr->aes) {
	crypto_aead_aes256gcm_beforenm(AesState(sPtr, 0), sPtr->txKey);
	crypto_aead_aes256gcm_beforenm(AesState(sPtr, 1), sPtr->rxKey);
    }
    return 0;
}

/*
 * AesState: the expanded key of a direction (rx 0: transmit, 1: receive),
 * 16-byte aligned as libsodium wants it, wherever the struct lies.
 *
 * Rekey: a direction's key is replaced by BLAKE2b-256 of the 16 bytes
 * "p2pjobs rekey v2" keyed with it (both ends do so at the same frame).
 */

typedef char P2pAesStatesFit[(2 * sizeof(crypto_aead_aes256gcm_state) + 15
	<= sizeof(((P2pSecure *) 0)->aesStates)) ? 1 : -1];

static crypto_aead_aes256gcm_state *
AesState(
    P2pSecure *sPtr,
    int rx)
{
    uintptr_t at = (uintptr_t) sPtr->aesStates;

    at = (at + 15) & ~(uintptr_t) 15;
    return (crypto_aead_aes256gcm_state *) (at
	    + (rx ? sizeof(crypto_aead_aes256gcm_state) : 0));
}

static void
Rekey(
    P2pSecure *sPtr,
    int rx)
{
    unsigned char *key = rx ? sPtr->rxKey : sPtr->txKey;
    unsigned char next[32];

    crypto_generichash(next, 32, (const unsigned char *) rekeyLabel,
	    sizeof(rekeyLabel) - 1, key, 32);
    memcpy(key, next, 32);
    sodium_memzero(next, sizeof(next));
    if (sPtr->aes) {
	crypto_aead_aes256gcm_beforenm(AesState(sPtr, rx), key);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * P2pSecureHandle --
 *
 *	Takes the body of one handshake frame from the peer. The server
 *	answers message 1 with message 2; the client answers message 2 with
 *	message 3 and is done; the server is done after message 3.
 *
 * Results:
 *	P2P_HS_OK, with *outLenPtr bytes (0 or a message body of at most
 *	P2P_HS_MAX_LEN) in out to send; or P2P_HS_ERROR with sPtr->error
 *	set and the state P2P_HS_FAILED. Never reads past body + len.
 *
 *----------------------------------------------------------------------
 */

int
P2pSecureHandle(
    P2pSecure *sPtr,
    const unsigned char *body,
    size_t len,
    unsigned char *out,
    size_t *outLenPtr)
{
    unsigned char hash[32], proof[33], *m;

    *outLenPtr = 0;
    if (len < 6 || memcmp(body, P2P_HS_MAGIC, 4) != 0) {
	if (sPtr->state == P2P_HS_WAIT1) {
	    return Fail(sPtr, "peer has no identity (its first frame is not"
		    " a handshake message)");
	}
	return Fail(sPtr, "malformed handshake message");
    }
    switch (sPtr->state) {
    case P2P_HS_WAIT1:
	if (body[OFF_TYPE] != 1) {
	    return Fail(sPtr, "unexpected handshake message");
	}
	if (body[OFF_VERSION] != P2P_HS_VERSION) {
	    return Fail(sPtr, "version: the peer speaks another handshake"
		    " version (this side speaks 2)");
	}
	if (len != P2P_HS_MSG1_LEN) {
	    return Fail(sPtr, "malformed handshake message");
	}
	memcpy(sPtr->msg1, body, P2P_HS_MSG1_LEN);
	memcpy(sPtr->peerIdPk, body + OFF_IDPK, 32);
	memcpy(sPtr->peerEphPk, body + OFF_EPHPK, 32);
	m = sPtr->msg2;
	memcpy(m, P2P_HS_MAGIC, 4);
	m[OFF_TYPE] = 2;
	m[OFF_VERSION] = P2P_HS_VERSION;
	m[OFF_FLAGS] = (body[OFF_FLAGS] | (sPtr->wantEncrypt
		? P2P_HS_FLAG_ENCRYPT : 0)) & P2P_HS_FLAG_ENCRYPT;
	if ((body[OFF_FLAGS] & P2P_HS_FLAG_AESGCM) && sPtr->offerAes) {
	    m[OFF_FLAGS] |= P2P_HS_FLAG_AESGCM;
	}
	memcpy(m + OFF_IDPK, sPtr->idPk, 32);
	memcpy(m + OFF_EPHPK, sPtr->ephPk, 32);
	TranscriptHash(sPtr, P2P_HS_MSG1_LEN, hash);
	RoleProof(hash, P2P_HS_SERVER, proof);
	crypto_sign_detached(m + OFF_SIG2, NULL, proof, 33, sPtr->idSk);
	crypto_auth(m + OFF_MAC2, proof, 33, sPtr->netKey);
	memcpy(out, m, P2P_HS_MSG2_LEN);
	*outLenPtr = P2P_HS_MSG2_LEN;
	sPtr->encrypt = (m[OFF_FLAGS] & P2P_HS_FLAG_ENCRYPT) != 0;
	sPtr->aes = (m[OFF_FLAGS] & P2P_HS_FLAG_AESGCM) != 0;
	sPtr->state = P2P_HS_WAIT3;
	return P2P_HS_OK;

    case P2P_HS_WAIT2:
	if (body[OFF_TYPE] != 2) {
	    return Fail(sPtr, "unexpected handshake message");
	}
	if (body[OFF_VERSION] != P2P_HS_VERSION) {
	    return Fail(sPtr, "version: the peer speaks another handshake"
		    " version (this side speaks 2)");
	}
	if (len != P2P_HS_MSG2_LEN) {
	    return Fail(sPtr, "malformed handshake message");
	}
	memcpy(sPtr->msg2, body, P2P_HS_MSG2_LEN);
	if ((body[OFF_FLAGS] & ~(P2P_HS_FLAG_ENCRYPT|P2P_HS_FLAG_AESGCM))
		|| (sPtr->wantEncrypt
		&& !(body[OFF_FLAGS] & P2P_HS_FLAG_ENCRYPT))) {
	    return Fail(sPtr, "flags: the peer did not agree to the"
		    " requested encryption");
	}
	if ((body[OFF_FLAGS] & P2P_HS_FLAG_AESGCM) && !sPtr->offerAes) {
	    return Fail(sPtr, "flags: the peer chose AES-256-GCM, which"
		    " this side did not offer");
	}
	TranscriptHash(sPtr, P2P_HS_MSG1_LEN, hash);
	RoleProof(hash, P2P_HS_SERVER, proof);
	if (crypto_sign_verify_detached(body + OFF_SIG2, proof, 33,
		body + OFF_IDPK) != 0) {
	    return Fail(sPtr, "bad signature: the peer does not hold the"
		    " identity key it sent");
	}
	if (crypto_auth_verify(body + OFF_MAC2, proof, 33,
		sPtr->netKey) != 0) {
	    return Fail(sPtr, "network secret differs");
	}
	memcpy(sPtr->peerIdPk, body + OFF_IDPK, 32);
	memcpy(sPtr->peerEphPk, body + OFF_EPHPK, 32);
	sPtr->encrypt = (body[OFF_FLAGS] & P2P_HS_FLAG_ENCRYPT) != 0;
	sPtr->aes = (body[OFF_FLAGS] & P2P_HS_FLAG_AESGCM) != 0;

	/*
	 * Message 3: signature and MAC over the hash of messages 1 and 2.
	 */

	TranscriptHash(sPtr, P2P_HS_MSG2_LEN, hash);
	RoleProof(hash, P2P_HS_CLIENT, proof);
	memcpy(out, P2P_HS_MAGIC, 4);
	out[OFF_TYPE] = 3;
	crypto_sign_detached(out + OFF_SIG3, NULL, proof, 33, sPtr->idSk);
	crypto_auth(out + OFF_MAC3, proof, 33, sPtr->netKey);
	if (DeriveKeys(sPtr) != 0) {
	    return Fail(sPtr, "key exchange failed: unusable ephemeral key");
	}
	*outLenPtr = P2P_HS_MSG3_LEN;
	sPtr->state = P2P_HS_DONE;
	return P2P_HS_OK;

    case P2P_HS_WAIT3:
	if (body[OFF_TYPE] != 3 || len != P2P_HS_MSG3_LEN) {
	    return Fail(sPtr, "malformed handshake message");
	}
	TranscriptHash(sPtr, P2P_HS_MSG2_LEN, hash);
	RoleProof(hash, P2P_HS_CLIENT, proof);
	if (crypto_sign_verify_detached(body + OFF_SIG3, proof, 33,
		sPtr->peerIdPk) != 0) {
	    return Fail(sPtr, "bad signature: the peer does not hold the"
		    " identity key it sent");
	}
	if (crypto_auth_verify(body + OFF_MAC3, proof, 33,
		sPtr->netKey) != 0) {
	    return Fail(sPtr, "network secret differs");
	}
	if (DeriveKeys(sPtr) != 0) {
	    return Fail(sPtr, "key exchange failed: unusable ephemeral key");
	}
	sPtr->state = P2P_HS_DONE;
	return P2P_HS_OK;

    default:
	return Fail(sPtr, "unexpected handshake message");
    }
}

/*
 *----------------------------------------------------------------------
 *
 * P2pSecureScan --
 *
 *	Whether buf holds a complete encrypted frame: u32 big-endian length
 *	L of the ciphertext, then L bytes. L must cover at least a frame
 *	header and the tag, and at most a frame of maxFrame body bytes.
 *
 * Results:
 *	P2P_FRAME_OK with *recLenPtr = 4 + L; P2P_FRAME_NEED;
 *	P2P_FRAME_TOOBIG with *recLenPtr = L; P2P_FRAME_MALFORMED.
 *
 *----------------------------------------------------------------------
 */

int
P2pSecureScan(
    const unsigned char *buf,
    size_t avail,
    size_t maxFrame,
    size_t *recLenPtr)
{
    uint64_t len;

    if (avail < P2P_SEAL_HEADER) {
	return P2P_FRAME_NEED;
    }
    len = P2pGetU32(buf);
    if (len < P2P_FRAME_HEADER + P2P_SEAL_TAG) {
	return P2P_FRAME_MALFORMED;
    }
    if (len > (uint64_t) maxFrame + P2P_FRAME_HEADER + P2P_SEAL_TAG) {
	*recLenPtr = (size_t) len;
	return P2P_FRAME_TOOBIG;
    }
    if (avail - P2P_SEAL_HEADER < len) {
	return P2P_FRAME_NEED;
    }
    *recLenPtr = P2P_SEAL_HEADER + (size_t) len;
    return P2P_FRAME_OK;
}

/*
 * Nonce: the 12 bytes of both ciphers, a frame counter as u64
 * little-endian and four zero bytes.
 */

static void
Nonce(
    uint64_t count,
    unsigned char nonce[12])
{
    int i;

    for (i = 0; i < 8; i++) {
	nonce[i] = (unsigned char) (count >> (8 * i));
    }
    memset(nonce + 8, 0, 4);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pSecureSeal --
 *
 *	Encrypts one plaintext frame (header included) of len bytes into
 *	out, which must have room for P2P_SEAL_HEADER + len + P2P_SEAL_TAG
 *	bytes, with the agreed cipher. The nonce is the send counter; the
 *	length bytes are the associated data.
 *
 * Results:
 *	0, or -1 if the handshake is not done or len is too large.
 *
 * Side effects:
 *	The send counter advances; the send key is replaced when it has
 *	sealed rekeyBytes.
 *
 *----------------------------------------------------------------------
 */

int
P2pSecureSeal(
    P2pSecure *sPtr,
    const unsigned char *frame,
    size_t len,
    unsigned char *out)
{
    unsigned char nonce[12];
    unsigned long long clen;

    if (sPtr->state != P2P_HS_DONE || len > 0xFFFFFFFFu - P2P_SEAL_TAG) {
	return -1;
    }
    P2pPutU32(out, (uint32_t) (len + P2P_SEAL_TAG));
    Nonce(sPtr->txCount++, nonce);
    if (sPtr->aes) {
	crypto_aead_aes256gcm_encrypt_afternm(out + P2P_SEAL_HEADER, &clen,
		frame, len, out, P2P_SEAL_HEADER, NULL, nonce,
		AesState(sPtr, 0));
    } else {
	crypto_aead_chacha20poly1305_ietf_encrypt(out + P2P_SEAL_HEADER,
		&clen, frame, len, out, P2P_SEAL_HEADER, NULL, nonce,
		sPtr->txKey);
    }
    sPtr->txUsed += len + P2P_REKEY_FRAME;
    if (sPtr->txUsed >= sPtr->rekeyBytes) {
	Rekey(sPtr, 0);
	sPtr->txUsed = 0;
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pSecureOpen --
 *
 *	Decrypts one complete encrypted frame of recLen bytes (as measured
 *	by P2pSecureScan) into out, which must hold recLen - 4 - 16 bytes.
 *	The plaintext must be exactly one frame.
 *
 * Results:
 *	P2P_FRAME_OK with *plainLenPtr set; P2P_SEAL_AUTH when the tag does
 *	not verify (tampered, replayed or reordered); P2P_FRAME_MALFORMED
 *	when the plaintext is not one frame or the state is wrong.
 *
 * Side effects:
 *	On success the receive counter advances, and the receive key is
 *	replaced when it has opened rekeyBytes.
 *
 *----------------------------------------------------------------------
 */

int
P2pSecureOpen(
    P2pSecure *sPtr,
    const unsigned char *rec,
    size_t recLen,
    unsigned char *out,
    size_t *plainLenPtr)
{
    unsigned char nonce[12];
    unsigned long long plen;
    int code;

    if (sPtr->state != P2P_HS_DONE
	    || recLen < P2P_SEAL_HEADER + P2P_FRAME_HEADER + P2P_SEAL_TAG
	    || P2pGetU32(rec) != recLen - P2P_SEAL_HEADER) {
	return P2P_FRAME_MALFORMED;
    }
    Nonce(sPtr->rxCount, nonce);
    if (sPtr->aes) {
	code = crypto_aead_aes256gcm_decrypt_afternm(out, &plen, NULL,
		rec + P2P_SEAL_HEADER, recLen - P2P_SEAL_HEADER, rec,
		P2P_SEAL_HEADER, nonce, AesState(sPtr, 1));
    } else {
	code = crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL,
		rec + P2P_SEAL_HEADER, recLen - P2P_SEAL_HEADER, rec,
		P2P_SEAL_HEADER, nonce, sPtr->rxKey);
    }
    if (code != 0) {
	return P2P_SEAL_AUTH;
    }
    sPtr->rxCount++;
    sPtr->rxUsed += plen + P2P_REKEY_FRAME;
    if (sPtr->rxUsed >= sPtr->rekeyBytes) {
	Rekey(sPtr, 1);
	sPtr->rxUsed = 0;
    }
    if (plen < P2P_FRAME_HEADER
	    || P2pGetU32(out) != plen - P2P_FRAME_HEADER) {
	return P2P_FRAME_MALFORMED;
    }
    *plainLenPtr = (size_t) plen;
    return P2P_FRAME_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pSecureCipher, P2pSecureHasAes --
 *
 *	The cipher of a connection's frames, for p2p::debug cipher; whether
 *	this CPU can AES-256-GCM (AES-NI and PCLMUL), for p2p::debug aesgcm.
 *
 * Results:
 *	"aes256gcm", "chacha20poly1305", or "" before the handshake is done
 *	or when frames travel in clear.
 *
 *----------------------------------------------------------------------
 */

const char *
P2pSecureCipher(
    const P2pSecure *sPtr)
{
    if (sPtr->state != P2P_HS_DONE || !sPtr->encrypt) {
	return "";
    }
    return sPtr->aes ? "aes256gcm" : "chacha20poly1305";
}

int
P2pSecureHasAes(void)
{
    return crypto_aead_aes256gcm_is_available();
}

/*
 *----------------------------------------------------------------------
 *
 * P2pHexEncode, P2pHexDecode --
 *
 *	Bytes to lower-case hex (out holds 2 * len + 1 bytes, NUL ended)
 *	and back. Decoding accepts either case and needs exactly
 *	2 * outLen digits.
 *
 * Results:
 *	P2pHexDecode: 0, or -1 for a wrong length or a non-hex digit.
 *
 *----------------------------------------------------------------------
 */

void
P2pHexEncode(
    const unsigned char *bytes,
    size_t len,
    char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
	out[2 * i] = digits[bytes[i] >> 4];
	out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

static int
HexDigit(
    int c)
{
    if (c >= '0' && c <= '9') {
	return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
	return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
	return c - 'A' + 10;
    }
    return -1;
}

int
P2pHexDecode(
    const char *hex,
    size_t hexLen,
    unsigned char *out,
    size_t outLen)
{
    size_t i;

    if (hexLen != 2 * outLen) {
	return -1;
    }
    for (i = 0; i < outLen; i++) {
	int hi = HexDigit((unsigned char) hex[2 * i]);
	int lo = HexDigit((unsigned char) hex[2 * i + 1]);

	if (hi < 0 || lo < 0) {
	    return -1;
	}
	out[i] = (unsigned char) ((hi << 4) | lo);
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pIdentityNodeId --
 *
 *	The node id of a public key: "p" and the first 20 hex digits of
 *	BLAKE2b-256 of the key. out holds 22 bytes.
 *
 *----------------------------------------------------------------------
 */

void
P2pIdentityNodeId(
    const unsigned char *pk,
    char out[22])
{
    unsigned char hash[32];

    crypto_generichash(hash, 32, pk, 32, NULL, 0);
    out[0] = 'p';
    P2pHexEncode(hash, 10, out + 1);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pIdentityCheck --
 *
 *	Whether the Ed25519 secret key sk belongs to the public key pk.
 *
 * Results:
 *	1 if it does, 0 if not.
 *
 *----------------------------------------------------------------------
 */

int
P2pIdentityCheck(
    const unsigned char *pk,
    const unsigned char *sk)
{
    unsigned char seed[32], pk2[32], sk2[64];
    int ok;

    crypto_sign_ed25519_sk_to_seed(seed, sk);
    crypto_sign_seed_keypair(pk2, sk2, seed);
    ok = sodium_memcmp(pk2, pk, 32) == 0 && sodium_memcmp(sk2, sk, 64) == 0;
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(sk2, sizeof(sk2));
    return ok;
}
