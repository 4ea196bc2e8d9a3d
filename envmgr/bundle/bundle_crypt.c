/* secrets.enc: the secrets' values under a passphrase. Layout: "envtest-secrets/1\n", 16 bytes of
 * salt, 12 bytes of nonce, the AES-256-GCM ciphertext, its 16-byte tag. The key is PBKDF2-HMAC-
 * SHA256 of the passphrase and salt (200,000 iterations). nettle does the cryptography. */
#include <errno.h>
#include <nettle/gcm.h>
#include <nettle/pbkdf2.h>
#include <string.h>
#include <sys/random.h>

#include "bundle_internal.h"

#define CRYPT_MAGIC "envtest-secrets/1\n"
#define CRYPT_SALT 16
#define CRYPT_NONCE 12
#define CRYPT_ROUNDS 200000

static void derive_key(const char *passphrase, const uint8_t *salt, uint8_t key[32])
{
    pbkdf2_hmac_sha256(strlen(passphrase), (const uint8_t *)passphrase, CRYPT_ROUNDS, CRYPT_SALT,
                       salt, 32, key);
}

int envmgr_bundle_encrypt(const char *passphrase, const void *plain, size_t len, envmgr_buf_t *out,
                          envmgr_error_t *err)
{
    if (!passphrase || !*passphrase)
        return envmgr_error_set(err, ENVMGR_E_USAGE, 0, "the passphrase is empty");
    uint8_t salt_nonce[CRYPT_SALT + CRYPT_NONCE];
    if (getrandom(salt_nonce, sizeof(salt_nonce), 0) != (ssize_t)sizeof(salt_nonce))
        return envmgr_error_errno(err, errno, "getrandom");
    uint8_t key[32];
    derive_key(passphrase, salt_nonce, key);
    struct gcm_aes256_ctx ctx;
    gcm_aes256_set_key(&ctx, key);
    gcm_aes256_set_iv(&ctx, CRYPT_NONCE, salt_nonce + CRYPT_SALT);
    envmgr_buf_adds(out, CRYPT_MAGIC);
    envmgr_buf_add(out, salt_nonce, sizeof(salt_nonce));
    uint8_t *c = (uint8_t *)envmgr_buf_reserve(out, len + GCM_DIGEST_SIZE);
    gcm_aes256_encrypt(&ctx, len, c, plain);
    gcm_aes256_digest(&ctx, GCM_DIGEST_SIZE, c + len);
    out->len += len + GCM_DIGEST_SIZE;
    out->data[out->len] = '\0';
    memset(key, 0, sizeof(key));
    return 0;
}

int envmgr_bundle_decrypt(const char *passphrase, const void *data, size_t len, envmgr_buf_t *out,
                          envmgr_error_t *err)
{
    const size_t magic = strlen(CRYPT_MAGIC), head = magic + CRYPT_SALT + CRYPT_NONCE;
    const uint8_t *d = data;
    if (len < head + GCM_DIGEST_SIZE || memcmp(d, CRYPT_MAGIC, magic) != 0)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "secrets.enc: not an envtest-secrets/1 document");
    if (!passphrase || !*passphrase)
        return envmgr_error_set(err, ENVMGR_E_USAGE, 0, "the passphrase is empty");
    uint8_t key[32];
    derive_key(passphrase, d + magic, key);
    struct gcm_aes256_ctx ctx;
    gcm_aes256_set_key(&ctx, key);
    gcm_aes256_set_iv(&ctx, CRYPT_NONCE, d + magic + CRYPT_SALT);
    size_t n = len - head - GCM_DIGEST_SIZE;
    uint8_t *p = (uint8_t *)envmgr_buf_reserve(out, n + 1);
    gcm_aes256_decrypt(&ctx, n, p, d + head);
    uint8_t tag[GCM_DIGEST_SIZE];
    gcm_aes256_digest(&ctx, GCM_DIGEST_SIZE, tag);
    memset(key, 0, sizeof(key));
    if (memcmp(tag, d + head + n, GCM_DIGEST_SIZE) != 0) {
        memset(p, 0, n);
        return envmgr_error_set(err, ENVMGR_E_USAGE, 0,
                                "secrets.enc: wrong passphrase (or the file was altered)");
    }
    out->len += n;
    p[n] = '\0';
    return 0;
}
