/*
 * UART0: the framed link to the bridge. Receive is interrupt-driven into a ring buffer that the
 * main loop drains into the frame decoder; transmit is polled (an answer goes out whole before
 * the next request is read, FRAMING.md 6.2). When the ring is full the interrupt is masked and
 * the bytes wait in the UART (in QEMU: in the pty), so nothing is dropped that the main loop has
 * not yet had a chance to read.
 *
 * UART1 is the console: the boot banner and write_uart data go there, never into the framed line.
 */
#include "board.h"
#include "regs.h"

#define UART1_BASE 0x4000D000u
#define RX_RING 256u /* a power of two */

static volatile uint8_t rx_ring[RX_RING];
static volatile uint32_t rx_head, rx_tail; /* head: written by the ISR; tail: by the main loop */

static void uart_setup(uint32_t base) {
  UART_CTL(base) = 0;
  UART_IBRD(base) = 27; /* 50 MHz / (16 * 115200) = 27.13: 27 + 8/64 */
  UART_FBRD(base) = 8;
  UART_LCRH(base) = 0x60u | 0x10u; /* 8 bits, no parity, 1 stop bit, FIFOs on */
  UART_CTL(base) = 1u | (1u << 8) | (1u << 9); /* UARTEN, TXE, RXE */
}

void link_uart_init(void) {
  SYSCTL_RCGC1 |= 1u;        /* UART0 */
  SYSCTL_RCGC2 |= 1u;        /* GPIO A */
  GPIO_AFSEL(0x40004000u) |= 0x3u; /* PA0/PA1 are U0RX/U0TX */
  GPIO_DEN(0x40004000u) |= 0x3u;
  rx_head = rx_tail = 0;
  uart_setup(UART0_BASE);
  UART_IFLS(UART0_BASE) = 0; /* interrupt at 1/8 full; the receive timeout covers the rest */
  UART_ICR(UART0_BASE) = 0x7FFu;
  UART_IM(UART0_BASE) = UART_INT_RX | UART_INT_RT;
  NVIC_ISER0 = 1u << IRQ_UART0;
}

void uart0_isr(void);
void uart0_isr(void) {
  /* Only the timeout is cleared by hand: the receive interrupt clears itself as the FIFO is read,
   * and stays raised when the ring is full, so unmasking it later resumes the reading. */
  UART_ICR(UART0_BASE) = UART_INT_RT;
  while (!(UART_FR(UART0_BASE) & UART_FR_RXFE)) {
    if (rx_head - rx_tail >= RX_RING) { /* full: leave the rest in the FIFO until there is room */
      UART_IM(UART0_BASE) = 0;
      return;
    }
    /* An overrun or framing error damages a frame; the decoder's CRC check rejects it. */
    rx_ring[rx_head % RX_RING] = (uint8_t)UART_DR(UART0_BASE);
    rx_head++;
  }
}

int link_uart_getc(void) {
  int c;
  if (rx_head == rx_tail) {
    /* Room again: take interrupts (the ISR may have masked them on a full ring). */
    UART_IM(UART0_BASE) = UART_INT_RX | UART_INT_RT;
    return -1;
  }
  c = rx_ring[rx_tail % RX_RING];
  rx_tail++;
  return c;
}

int link_uart_write(void *ctx, const uint8_t *data, size_t len) {
  (void)ctx;
  while (len-- > 0) {
    while (UART_FR(UART0_BASE) & UART_FR_TXFF) {
    }
    UART_DR(UART0_BASE) = *data++;
  }
  return 0;
}

void link_uart_drain(void) {
  while (UART_FR(UART0_BASE) & UART_FR_BUSY) {
  }
}

void console_init(void) {
  SYSCTL_RCGC1 |= 2u; /* UART1 */
  uart_setup(UART1_BASE);
}

void console_write(const char *data, size_t len) {
  while (len-- > 0) {
    while (UART_FR(UART1_BASE) & UART_FR_TXFF) {
    }
    UART_DR(UART1_BASE) = (uint8_t)*data++;
  }
}

void console_puts(const char *text) {
  while (*text) console_write(text++, 1);
}
