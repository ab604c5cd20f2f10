/*
 * p2pSecure.h --
 *
 *	The handshake that authenticates both ends of a connection with their
 *	Ed25519 identity keys, and the encrypted frames that may follow it.
 *	Plain C on libsodium with no Tcl or libuv dependency, so that a fuzzer
 *	can drive it on its own. doc/protocol.md specifies the bytes.
 */

#ifndef _P2PSECURE_H
#define _P2PSECURE_H

#include <stddef.h>
#include <stdint.h>

#define P2P_HS_VERSION		2
#define P2P_HS_MAGIC		"P2HS"	/* 0x50: not an element tag */
#define P2P_HS_KEY		32	/* public keys, hashes, MACs */
#define P2P_HS_SECRET		64	/* Ed25519 secret key */
#define P2P_HS_SIG		64
#define P2P_HS_FLAG_ENCRYPT	0x01
#define P2P_HS_FLAG_AESGCM	0x02	/* Message 1: can; 2: will. */

/*
 * A key is replaced once the frames it sealed count this many bytes, each
 * its plaintext length and P2P_REKEY_FRAME more (doc/protocol.md 10.6).
 */

#define P2P_REKEY_BYTES		((uint64_t) 1 << 32)
#define P2P_REKEY_FRAME		64

/*
 * Bodies of the three handshake frames (doc/protocol.md).
 */

#define P2P_HS_MSG1_LEN		(4 + 1 + 1 + 1 + 32 + 32)
#define P2P_HS_MSG2_LEN		(P2P_HS_MSG1_LEN + 64 + 32)
#define P2P_HS_MSG3_LEN		(4 + 1 + 64 + 32)
#define P2P_HS_MAX_LEN		P2P_HS_MSG2_LEN

/*
 * An encrypted frame: u32 length of the ciphertext, then the ciphertext,
 * which is the plaintext frame (with its own header) and a 16-byte tag.
 */

#define P2P_SEAL_HEADER		4
#define P2P_SEAL_TAG		16

enum { P2P_HS_CLIENT, P2P_HS_SERVER };

enum {
    P2P_HS_WAIT1,		/* Server: waiting for message 1. */
    P2P_HS_WAIT2,		/* Client: sent 1, waiting for 2. */
    P2P_HS_WAIT3,		/* Server: sent 2, waiting for 3. */
    P2P_HS_DONE,		/* Keys known; frames may flow. */
    P2P_HS_FAILED
};

/*
 * Results of P2pSecureHandle and P2pSecureOpen (besides the P2P_FRAME_*
 * codes of the scanner).
 */

#define P2P_HS_OK		1	/* Handled; maybe a reply to send. */
#define P2P_HS_ERROR		(-1)	/* See ->error. */
#define P2P_SEAL_AUTH		(-5)	/* Frame failed authentication. */

/*
 * P2pSecure --
 *
 *	The state of one connection's handshake and, after it, its session
 *	keys and nonce counters. Embedded in (or allocated for) a connection
 *	by its owner, which wipes it with P2pSecureWipe before freeing.
 */

typedef struct P2pSecure {
    int role;			/* P2P_HS_CLIENT or P2P_HS_SERVER. */
    int state;			/* P2P_HS_* */
    int wantEncrypt;		/* Our own -secure. */
    int encrypt;		/* Agreed: frames are sealed. */
    unsigned char idPk[32];	/* Our identity. */
    unsigned char idSk[64];
    unsigned char ephPk[32];	/* Our ephemeral X25519 pair. */
    unsigned char ephSk[32];
    unsigned char netKey[32];	/* Derived from -netsecret. */
    unsigned char peerIdPk[32];	/* Verified when state is DONE. */
    unsigned char peerEphPk[32];
    unsigned char msg1[P2P_HS_MSG1_LEN];
    unsigned char msg2[P2P_HS_MSG2_LEN];
    unsigned char txKey[32];
    unsigned char rxKey[32];
    uint64_t txCount;		/* Nonces: one counter per direction. */
    uint64_t rxCount;
    const char *error;		/* Static text: why it failed. */
    int offerAes;		/* Ours: AES-256-GCM may be used. */
    int aes;			/* Agreed: AES-256-GCM, else
				 * ChaCha20-Poly1305-IETF. */
    uint64_t rekeyBytes;	/* P2P_REKEY_BYTES, or less (tests). */
    uint64_t txUsed;		/* What the keys sealed, as counted for */
    uint64_t rxUsed;		/* rekeyBytes. */
    unsigned char aesStates[2 * 512 + 16];
				/* AES: expanded tx and rx keys, at the
				 * first 16-byte boundary (AesState). */
} P2pSecure;

int	P2pSecureLibInit(void);
void	P2pSecureInit(P2pSecure *sPtr, int role, const unsigned char *idPk,
	    const unsigned char *idSk, const unsigned char *netSecret,
	    size_t netSecretLen, int wantEncrypt);
size_t	P2pSecureStart(P2pSecure *sPtr, unsigned char *out);
int	P2pSecureHandle(P2pSecure *sPtr, const unsigned char *body,
	    size_t len, unsigned char *out, size_t *outLenPtr);
void	P2pSecureWipe(P2pSecure *sPtr);
int	P2pSecureScan(const unsigned char *buf, size_t avail, size_t maxFrame,
	    size_t *recLenPtr);
int	P2pSecureSeal(P2pSecure *sPtr, const unsigned char *frame,
	    size_t len, unsigned char *out);
int	P2pSecureOpen(P2pSecure *sPtr, const unsigned char *rec,
	    size_t recLen, unsigned char *out, size_t *plainLenPtr);
const char *P2pSecureCipher(const P2pSecure *sPtr);
int	P2pSecureHasAes(void);

/*
 * Identities: Ed25519 keys, node ids, hex.
 */

void	P2pHexEncode(const unsigned char *bytes, size_t len, char *out);
int	P2pHexDecode(const char *hex, size_t hexLen, unsigned char *out,
	    size_t outLen);
void	P2pIdentityNodeId(const unsigned char *pk, char out[22]);
int	P2pIdentityCheck(const unsigned char *pk, const unsigned char *sk);

#endif /* _P2PSECURE_H */
