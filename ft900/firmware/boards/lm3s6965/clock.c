/* System clock, the 1 ms tick and reset. */
#include "board.h"
#include "regs.h"
#include "rtc.h"

static volatile uint32_t ticks;

void systick_isr(void);
void systick_isr(void) { ticks++; }

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

  SYST_RVR = BOARD_SYSCLK_HZ / BOARD_TICK_HZ - 1u;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* processor clock, interrupt, enable */
}

uint32_t board_millis(void) { return ticks; }

uint32_t board_cycles(void) {
  uint32_t t, v;
  do { /* a tick between the two reads would pair a new count with an old tick */
    t = ticks;
    v = SYST_CVR;
  } while (t != ticks);
  return t * (BOARD_SYSCLK_HZ / BOARD_TICK_HZ) + (SYST_RVR - v);
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
