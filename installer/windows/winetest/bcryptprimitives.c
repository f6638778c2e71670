/*
 * bcryptprimitives.dll for wine 8 (Debian 12), which lacks it: Go 1.22 and
 * later load ProcessPrng from it at start. Tests only; real Windows (8 and
 * later) has the DLL. Built with mingw and copied into the test prefix's
 * system32, never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len); /* RtlGenRandom */

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n)) return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
