/*
 * uart.c - the 8250/16550A model (uart.h).
 */
#include "uart.h"

/* The host's bytes enter the FIFO while the guest holds DTR (a terminal
 * sends once the other end is ready), and not in loopback. */
static void rx_refill(struct uart *u)
{
	if (!(u->mcr & 0x01) || (u->mcr & UART_MCR_LOOP))
		return;
	while (u->input_len && u->rx_n < UART_FIFO) {
		u->rx[(u->rx_head + u->rx_n++) % UART_FIFO] = *u->input++;
		u->input_len--;
	}
}

static void rx_push(struct uart *u, uint8_t b)
{
	if (u->rx_n == UART_FIFO) {
		u->lsr_err |= UART_LSR_OE; /* the byte is lost */
		return;
	}
	u->rx[(u->rx_head + u->rx_n++) % UART_FIFO] = b;
}

void uart_init(struct uart *u, const uint8_t *input, size_t input_len)
{
	*u = (struct uart){ .input = input, .input_len = input_len };
}

/* The interrupt identification: receive data first, then THRE. */
static uint8_t iir(const struct uart *u)
{
	uint8_t fifo = u->fifo_on ? 0xc0 : 0;
	if ((u->ier & UART_IER_RDI) && u->rx_n)
		return fifo | UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thre)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NONE;
}

/* Recompute the IRQ line; 1 on a rising edge. */
static int update(struct uart *u)
{
	uint8_t was = u->line;
	u->line = !(iir(u) & UART_IIR_NONE) && (u->mcr & UART_MCR_OUT2) && !(u->mcr & UART_MCR_LOOP);
	return u->line && !was;
}

int uart_read(struct uart *u, unsigned reg, uint8_t *value)
{
	int dlab = u->lcr & UART_LCR_DLAB;

	switch (reg & 7) {
	case UART_RBR:
		if (dlab) {
			*value = u->dll;
			break;
		}
		*value = 0;
		if (u->rx_n) {
			*value = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_FIFO;
			u->rx_n--;
			rx_refill(u);
		}
		break;
	case UART_IER:
		*value = dlab ? u->dlm : u->ier;
		break;
	case UART_IIR:
		*value = iir(u);
		if ((*value & 0x0f) == UART_IIR_THRI)
			u->thre = 0; /* reading the identification clears THRE */
		break;
	case UART_LCR:
		*value = u->lcr;
		break;
	case UART_MCR:
		*value = u->mcr;
		break;
	case UART_LSR:
		*value = (uint8_t)(UART_LSR_THRE | UART_LSR_TEMT | u->lsr_err | (u->rx_n ? UART_LSR_DR : 0));
		u->lsr_err = 0;
		break;
	case UART_MSR:
		/* loopback: RTS -> CTS, DTR -> DSR, OUT1 -> RI, OUT2 -> DCD;
		 * else a terminal that is there (CTS, DSR, DCD) */
		if (u->mcr & UART_MCR_LOOP)
			*value = (uint8_t)((u->mcr & 0x02) << 3 | (u->mcr & 0x01) << 5 | (u->mcr & 0x04) << 4 |
					   (u->mcr & 0x08) << 4);
		else
			*value = 0xb0;
		break;
	default: /* UART_SCR */
		*value = u->scr;
		break;
	}
	return update(u);
}

int uart_write(struct uart *u, unsigned reg, uint8_t value, int *sent)
{
	int dlab = u->lcr & UART_LCR_DLAB, rose = 0;

	*sent = -1;
	switch (reg & 7) {
	case UART_RBR: /* THR */
		if (dlab) {
			u->dll = value;
			break;
		}
		u->thre = 0;
		update(u); /* the line falls while the byte is in THR... */
		if (u->mcr & UART_MCR_LOOP)
			rx_push(u, value);
		else
			*sent = value;
		u->thre = 1; /* ...and THR is empty again: a new edge */
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = value;
			break;
		}
		/* enabling THRE with THR empty raises it (as a 16550A does) */
		if ((value & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
			u->thre = 1;
		u->ier = value & 0x0f;
		break;
	case UART_IIR: /* FCR */
		u->fifo_on = value & 1;
		if (value & 2) {
			u->rx_n = 0;
			rx_refill(u);
		}
		break;
	case UART_LCR:
		u->lcr = value;
		break;
	case UART_MCR:
		u->mcr = value & 0x1f;
		rx_refill(u);
		break;
	case UART_LSR:
	case UART_MSR: /* read-only on a 16550A (factory test on some) */
		break;
	default:
		u->scr = value;
		break;
	}
	rose = update(u);
	return rose;
}
