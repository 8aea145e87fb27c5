/* interrupt.c - SIGINT/SIGTERM handling and the registry of temporary files to remove. */
#include "core/interrupt.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the signal handler needs lock-free atomic ints");

static volatile sig_atomic_t g_signal; /* flag mode: the signal received, 0 = none */
static atomic_int g_mode;

/* Slot states. The owner moves FREE -> FILLING -> REGISTERED -> FREE; the handler moves REGISTERED ->
 * CLAIMED before reading the path, so the owner can never rewrite a path the handler is reading. */
enum { SLOT_FREE = 0, SLOT_FILLING = 1, SLOT_REGISTERED = 2, SLOT_CLAIMED = 3 };
static struct {
    atomic_int state;
    char path[P3D_INTERRUPT_PATH_MAX];
} g_slots[P3D_INTERRUPT_SLOTS];

static void on_signal(int sig) {
    if (atomic_load(&g_mode) == P3D_INTERRUPT_FLAG && !g_signal) {
        g_signal = sig;
        return;
    }
    for (int i = 0; i < P3D_INTERRUPT_SLOTS; i++) {
        int expect = SLOT_REGISTERED;
        if (atomic_compare_exchange_strong(&g_slots[i].state, &expect, SLOT_CLAIMED)) unlink(g_slots[i].path);
    }
    /* End the process as the signal would have: default action, re-raised (delivered when the
     * handler returns, since the signal is blocked while it runs). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    raise(sig);
}

p3d_status p3d_interrupt_install(p3d_interrupt_mode mode) {
    atomic_store(&g_mode, (int)mode);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* SA_RESTART: a flag-mode signal must not make unrelated blocking calls fail with EINTR; the
     * program polls the flag instead. */
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return p3d_fail(P3D_ERR_UNSUPPORTED, "cannot install the SIGINT/SIGTERM handler");
    return P3D_OK;
}

int p3d_interrupted(void) { return (int)g_signal; }

void p3d_interrupt_clear(void) { g_signal = 0; }

p3d_status p3d_interrupt_check(const char *what) {
    int sig = (int)g_signal;
    if (!sig) return P3D_OK;
    return p3d_fail(P3D_ERR_INTERRUPTED, "%s: interrupted (%s)", what, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

int32_t p3d_interrupt_register_temp(const char *path) {
    size_t n = strlen(path);
    if (n >= P3D_INTERRUPT_PATH_MAX) return -1;
    for (int32_t i = 0; i < P3D_INTERRUPT_SLOTS; i++) {
        int expect = SLOT_FREE;
        if (!atomic_compare_exchange_strong(&g_slots[i].state, &expect, SLOT_FILLING)) continue;
        memcpy(g_slots[i].path, path, n + 1);
        atomic_store(&g_slots[i].state, SLOT_REGISTERED);
        return i;
    }
    return -1;
}

void p3d_interrupt_unregister_temp(int32_t slot) {
    if (slot < 0 || slot >= P3D_INTERRUPT_SLOTS) return;
    /* Fails only when the handler has claimed the slot: the process is being ended by a signal
     * and the slot is never reused. */
    int expect = SLOT_REGISTERED;
    atomic_compare_exchange_strong(&g_slots[slot].state, &expect, SLOT_FREE);
}
