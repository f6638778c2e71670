/*
 * slowsign: a PKCS#11 module for tests and benchmarks that passes every
 * call to another module (SoftHSM) but signs at a smartcard's pace: each
 * signature waits TTE_SLOWSIGN_MS milliseconds, one at a time across all
 * sessions, as a card with one crypto engine does. A software token signs
 * in about a millisecond, so without this a benchmark cannot show whether
 * a batch is bound by the token or by the agent's own work around it.
 *
 * Environment (read once, at the first C_GetFunctionList):
 *   TTE_SLOWSIGN_TARGET  the real module's path (required)
 *   TTE_SLOWSIGN_MS      the time one signature takes (default 300)
 *
 * Built by softhsm.SlowModule with the PKCS#11 headers of
 * github.com/miekg/pkcs11.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkcs11go.h"

static CK_FUNCTION_LIST slow;
static CK_FUNCTION_LIST_PTR real;
static CK_RV loaded = CKR_GENERAL_ERROR;
static long delay_ms = 300;
static pthread_once_t once = PTHREAD_ONCE_INIT;
/* The card: one signature at a time. */
static pthread_mutex_t card = PTHREAD_MUTEX_INITIALIZER;

static void card_work(void) {
	struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
	}
}

static CK_RV slow_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR siglen) {
	CK_RV rv;
	if (sig == NULL) /* a length query: no card work */
		return real->C_Sign(h, data, len, sig, siglen);
	pthread_mutex_lock(&card);
	card_work();
	rv = real->C_Sign(h, data, len, sig, siglen);
	pthread_mutex_unlock(&card);
	return rv;
}

static CK_RV slow_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG_PTR siglen) {
	CK_RV rv;
	if (sig == NULL)
		return real->C_SignFinal(h, sig, siglen);
	pthread_mutex_lock(&card);
	card_work();
	rv = real->C_SignFinal(h, sig, siglen);
	pthread_mutex_unlock(&card);
	return rv;
}

static void load(void) {
	const char *target = getenv("TTE_SLOWSIGN_TARGET");
	const char *ms = getenv("TTE_SLOWSIGN_MS");
	void *lib;
	CK_C_GetFunctionList get;
	if (ms != NULL && *ms != '\0') {
		char *end;
		long v = strtol(ms, &end, 10);
		if (*end != '\0' || v < 0 || v > 60000)
			return;
		delay_ms = v;
	}
	if (target == NULL || *target == '\0')
		return;
	lib = dlopen(target, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL)
		return;
	get = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
	if (get == NULL || get(&real) != CKR_OK || real == NULL)
		return;
	memcpy(&slow, real, sizeof slow);
	slow.C_Sign = slow_Sign;
	slow.C_SignFinal = slow_SignFinal;
	loaded = CKR_OK;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_once(&once, load);
	if (loaded != CKR_OK)
		return loaded;
	*list = &slow;
	return CKR_OK;
}
