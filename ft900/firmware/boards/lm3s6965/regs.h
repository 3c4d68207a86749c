/*
 * The few LM3S6965 (Stellaris, Cortex-M3) registers this board layer touches, from the datasheet
 * (DS-LM3S6965). QEMU's lm3s6965evb emulates the same addresses.
 */
#ifndef LM3S6965_REGS_H
#define LM3S6965_REGS_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* System control */
#define SYSCTL_RIS REG32(0x400FE050u)
#define SYSCTL_RCC REG32(0x400FE060u)
#define SYSCTL_RCGC1 REG32(0x400FE104u)
#define SYSCTL_RCGC2 REG32(0x400FE108u)
#define SYSCTL_RIS_PLLLRIS (1u << 6)

/* UART0 (PL011) */
#define UART0_BASE 0x4000C000u
#define UART_DR(b) REG32((b) + 0x000u)
#define UART_FR(b) REG32((b) + 0x018u)
#define UART_IBRD(b) REG32((b) + 0x024u)
#define UART_FBRD(b) REG32((b) + 0x028u)
#define UART_LCRH(b) REG32((b) + 0x02Cu)
#define UART_CTL(b) REG32((b) + 0x030u)
#define UART_IFLS(b) REG32((b) + 0x034u)
#define UART_IM(b) REG32((b) + 0x038u)
#define UART_ICR(b) REG32((b) + 0x044u)
#define UART_FR_BUSY (1u << 3)
#define UART_FR_RXFE (1u << 4)
#define UART_FR_TXFF (1u << 5)
#define UART_FR_TXFE (1u << 7)
#define UART_INT_RX (1u << 4)
#define UART_INT_RT (1u << 6)
#define UART_DR_ERRORS 0xF00u /* overrun, break, parity, framing */

/* GPIO ports A..G (PL061 with Luminary extensions). DATA is address-masked: bits 9:2 of the
 * offset select the pins a read or write touches, so base + 0x3FC is all eight. */
#define GPIO_DATA_ALL(b) REG32((b) + 0x3FCu)
#define GPIO_DATA_PIN(b, bit) REG32((b) + (0x004u << (bit)))
#define GPIO_DIR(b) REG32((b) + 0x400u)
#define GPIO_AFSEL(b) REG32((b) + 0x420u)
#define GPIO_PDR(b) REG32((b) + 0x514u)
#define GPIO_DEN(b) REG32((b) + 0x51Cu)

/* Cortex-M3 system control space */
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define NVIC_ISER0 REG32(0xE000E100u)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_AIRCR_SYSRESETREQ (0x05FA0000u | (1u << 2))

#define IRQ_UART0 5

#endif /* LM3S6965_REGS_H */
