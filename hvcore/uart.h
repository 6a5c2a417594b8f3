/*
 * uart.h - an 8250/16550A UART (COM1 at 0x3f8, IRQ 4), the device model
 * both backends share: the core calls it from its port I/O exits, so the
 * same register accesses give the same answers and the same interrupts
 * under kvm and sim.
 *
 * What is modelled: the eight registers (RBR/THR, IER, IIR/FCR, LCR, MCR,
 * LSR, MSR, SCR) and the divisor latch (LCR.DLAB); a 16-byte receive FIFO
 * fed from a host input (--serial-input: it arrives once the guest raises
 * DTR, as a terminal waits for it, refilling the FIFO as the guest reads
 * it) and, in loopback (MCR.LOOP), from the transmitter; the interrupt identification of the 16550A
 * (receive data 0x04 before transmit holding empty 0x02, FIFO bits 0xc0
 * once FCR enables them); the modem status in loopback (RTS, DTR, OUT1,
 * OUT2 read back as CTS, DSR, RI, DCD), which is how Linux probes a UART.
 *
 * Time: a byte written to THR is sent at once (the model has no baud
 * rate), so THR is empty again right after the write: the THRE interrupt
 * is the one a real UART raises when its transmitter has taken the byte,
 * one per byte written, without the wait.
 *
 * The interrupt: the IRQ line is high while an enabled condition is
 * pending and MCR.OUT2 gates it through (a PC's COM port wiring; in
 * loopback the OUT2 pin is inactive, so no IRQ).  ISA interrupts are edge
 * triggered: each rising edge is one interrupt request, which uart_read()
 * and uart_write() return (1) for the core to deliver as IRQ 4.
 */
#ifndef HVCORE_UART_H
#define HVCORE_UART_H

#include <stddef.h>
#include <stdint.h>

#define UART_IRQ 4
#define UART_FIFO 16

/* Register offsets from the base port. */
enum { UART_RBR = 0, UART_IER = 1, UART_IIR = 2, UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7 };

/* Bits the guests use. */
#define UART_IER_RDI 0x01   /* receive data available */
#define UART_IER_THRI 0x02  /* transmit holding register empty */
#define UART_IIR_NONE 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_LCR_DLAB 0x80

struct uart {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t fifo_on;          /* FCR bit 0 */
	uint8_t lsr_err;          /* overrun, until LSR is read */
	uint8_t thre;             /* THRE interrupt pending (cleared by reading IIR or writing THR) */
	uint8_t line;             /* the IRQ line's level */
	uint8_t rx[UART_FIFO];
	unsigned rx_head, rx_n;
	const uint8_t *input;     /* the host's bytes still to be received */
	size_t input_len;
};

/* Reset state (LSR 0x60, no interrupt enabled) with `input` to receive. */
void uart_init(struct uart *u, const uint8_t *input, size_t input_len);

/* A read of register `reg`: *value; returns 1 when the access raised
 * the IRQ line (an interrupt request), else 0. */
int uart_read(struct uart *u, unsigned reg, uint8_t *value);

/* A write of `value` to register `reg`; *sent is the byte the
 * transmitter sent out of the machine (-1: none: not THR, or loopback).
 * Returns 1 when the access raised the IRQ line. */
int uart_write(struct uart *u, unsigned reg, uint8_t value, int *sent);

#endif
