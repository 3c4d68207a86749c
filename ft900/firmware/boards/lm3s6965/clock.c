/* System clock, the 1 ms tick and reset. */
#include "board.h"
#include "regs.h"
#include "rtc.h"

/* SysTick runs free over its whole 24-bit range (335 ms at 50 MHz) and its interrupt counts the
 * wraps; time is wraps and the current count together. Not a 1 ms interrupt counter: QEMU, when
 * the host is busy, merges timer interrupts that fall due before the guest runs again (a 1 ms
 * tick lost whole seconds under load); a long period makes that harmless, and the current count
 * is exact whenever it is read. */
#define SYSTICK_PERIOD (1u << 24)
#define SCB_ICSR REG32(0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)

#define CYCLES_PER_MS (BOARD_SYSCLK_HZ / 1000u)

/* Kept by the interrupt at every wrap, in 32-bit arithmetic (no 64-bit division in the image):
 * whole milliseconds before the wrap, and the cycles left over. */
static volatile uint32_t wraps, ms_at_wrap, rem_at_wrap;

void systick_isr(void);
void systick_isr(void) {
  uint32_t rem = rem_at_wrap + SYSTICK_PERIOD;
  ms_at_wrap += rem / CYCLES_PER_MS;
  rem_at_wrap = rem % CYCLES_PER_MS;
  wraps++;
}

/* A consistent reading: the wrap state and the cycles into the current period. */
static void read_clock(uint32_t *ms, uint32_t *rem, uint32_t *w, uint32_t *into) {
  uint32_t v, pending;
  do { /* the interrupt between the reads would pair a new count with an old wrap */
    *w = wraps;
    *ms = ms_at_wrap;
    *rem = rem_at_wrap;
    v = SYST_CVR;
    pending = SCB_ICSR & ICSR_PENDSTSET;
  } while (*w != wraps);
  *into = SYSTICK_PERIOD - 1u - v;
  /* Wrapped, but the interrupt has not run yet (it is taken a few instructions later). */
  if (pending && v > SYSTICK_PERIOD / 2u) {
    uint32_t r = *rem + SYSTICK_PERIOD;
    *ms += r / CYCLES_PER_MS;
    *rem = r % CYCLES_PER_MS;
    ++*w;
  }
}

void board_clock_init(void) {
  /* 8 MHz crystal, PLL on, system clock = 200 MHz / (SYSDIV 3 + 1) = 50 MHz: first bypass the
   * PLL and program it, then switch once it has locked (bounded: QEMU locks at once). */
  uint32_t rcc = SYSCTL_RCC, i;
  rcc |= (1u << 11);                                      /* BYPASS */
  rcc &= ~(1u << 22);                                     /* USESYSDIV off while switching */
  SYSCTL_RCC = rcc;
  rcc &= ~((0xFu << 6) | (0x3u << 4) | (1u << 13) | 1u); /* XTAL, OSCSRC, PWRDN, MOSCDIS */
  rcc |= (0xEu << 6);                                     /* XTAL 8 MHz, main oscillator */
  rcc = (rcc & ~(0xFu << 23)) | (3u << 23) | (1u << 22);  /* SYSDIV 3, USESYSDIV */
  SYSCTL_RCC = rcc;
  for (i = 0; i < 100000u && !(SYSCTL_RIS & SYSCTL_RIS_PLLLRIS); i++) {
  }
  SYSCTL_RCC = rcc & ~(1u << 11);

  SYST_RVR = SYSTICK_PERIOD - 1u;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* processor clock, interrupt, enable */
}

uint32_t board_cycles(void) {
  uint32_t ms, rem, w, into;
  read_clock(&ms, &rem, &w, &into);
  return (w << 24) + into; /* SYSTICK_PERIOD is 2^24 */
}

uint32_t board_millis(void) {
  uint32_t ms, rem, w, into;
  read_clock(&ms, &rem, &w, &into);
  return ms + (rem + into) / CYCLES_PER_MS;
}

void board_reset(void) {
  link_uart_drain();
  rtc_before_reset();
  __asm__ volatile("dsb" ::: "memory");
  SCB_AIRCR = SCB_AIRCR_SYSRESETREQ;
  __asm__ volatile("dsb" ::: "memory");
  for (;;) {
  }
}
