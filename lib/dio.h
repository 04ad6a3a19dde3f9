/*
 * Writing one large file sequentially, fast: the caller fills big aligned
 * buffers in place (no copy through a small stdio-like buffer) while an
 * I/O thread writes the previous one, with O_DIRECT where the file system
 * has it.  On this kind of VM a buffered write of 1 GiB into a new file
 * costs 3.5-6.7 s of page cache work; with O_DIRECT it is 1.4 s (dd).
 * Used by artifact checkout.  The writer owns nothing of the caller's but
 * its buffers; the file descriptor stays the caller's.
 */
#ifndef MLP_DIO_H
#define MLP_DIO_H

#include <stddef.h>
#include <stdint.h>

/* The most one mlp_dio_reserve() can ask for. */
#define MLP_DIO_MAX_RESERVE (16u << 20)

struct mlp_dio;

/*
 * Starts writing `fd` (a new, empty regular file open for writing) from
 * offset 0.  `size` (0: unknown) lets the file system allocate the blocks
 * up front.  O_DIRECT is set on `fd` when possible; MLP_CHECKOUT_NO_DIRECT
 * in the environment turns it off (for benchmarks).
 */
int mlp_dio_open(struct mlp_dio **out, int fd, uint64_t size);
/*
 * Space for the next `len` (<= MLP_DIO_MAX_RESERVE) bytes of the file; they
 * count once mlp_dio_commit() says how many were filled.  NULL after a
 * write error (the message is set).
 */
unsigned char *mlp_dio_reserve(struct mlp_dio *w, size_t len);
void mlp_dio_commit(struct mlp_dio *w, size_t len);
/* Writes the rest and sets the file's exact size; frees `w`. */
int mlp_dio_finish(struct mlp_dio *w);
/* Stops without finishing (the file is left partial); NULL-safe. */
void mlp_dio_abort(struct mlp_dio *w);

#endif
