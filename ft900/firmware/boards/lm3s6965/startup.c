/*
 * Reset and the vector table for the LM3S6965 (Cortex-M3). Reset copies .data, clears .bss and
 * paints the free RAM between the static data and the stack with a pattern, so that the deepest
 * stack use can be read afterwards (board_stack_high_water). The paint is laid on a cold start
 * only: after a SYSRESETREQ the mark keeps counting across the restart.
 */
#include <stdint.h>

#include "board.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _end_static, _estack;
int main(void);
void reset_handler(void);
void default_handler(void);
void uart0_isr(void);
void systick_isr(void);

#define PAINT 0xC5C5C5C5u
#define WARM_MAGIC 0x57A2B007u

static uint32_t warm __attribute__((section(".noinit")));

/* The live stack of this function sits in the top few words: leave them. */
#define PAINT_MARGIN_WORDS 32

/* Linker symbols as addresses (comparing pointers to different objects is not C). */
#define ADDR(sym) ((uintptr_t)&(sym))

void reset_handler(void) {
  uintptr_t a;
  const uint32_t *src = &_sidata;
  for (a = ADDR(_sdata); a < ADDR(_edata); a += 4) *(uint32_t *)a = *src++;
  for (a = ADDR(_sbss); a < ADDR(_ebss); a += 4) *(uint32_t *)a = 0;
  if (warm != WARM_MAGIC) {
    for (a = ADDR(_end_static); a < ADDR(_estack) - 4 * PAINT_MARGIN_WORDS; a += 4) *(uint32_t *)a = PAINT;
    warm = WARM_MAGIC;
  }
  (void)main();
  for (;;) {
  }
}

uint32_t board_stack_high_water(void) {
  uintptr_t a = ADDR(_end_static);
  while (a < ADDR(_estack) && *(const uint32_t *)a == PAINT) a += 4;
  return (uint32_t)(ADDR(_estack) - a);
}

void default_handler(void) {
  /* A fault or an unexpected interrupt: restart rather than hang, so the bridge sees a HELLO. */
  board_reset();
}

typedef void (*vector_t)(void);

#define D default_handler
/* 16 system exceptions, then the LM3S6965's 38 interrupts (UART0 is interrupt 5). */
__attribute__((section(".vectors"), used)) static const vector_t vectors[16 + 38] = {
  (vector_t)(uintptr_t)&_estack, reset_handler,
  D, D, D, D, D, 0, 0, 0, 0, D, D, 0, D, systick_isr,           /* NMI .. SysTick */
  D, D, D, D, D, uart0_isr, D, D, D, D, D, D, D, D, D, D, D, D, D, /* 0..18 */
  D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D,         /* 19..37 */
};
