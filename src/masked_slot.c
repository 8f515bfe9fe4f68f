/*-------------------------------------------------------------------------
 *
 * masked_slot.c
 *	  A tuple slot for a row some of whose columns are masked: the row as
 *	  the scan read it, and which columns read as NULL.
 *
 * A masked read was a projection of CASE expressions, one per masked
 * column, into a virtual slot.  Whatever keeps the rows (SPI, a tuplestore,
 * an INSERT ... SELECT) then formed a new heap tuple from every column,
 * where from an unmasked scan it copies the stored tuple in one piece: for
 * a SELECT * into PL/pgSQL, forming the tuples cost more than the scan.
 * This slot refers to the scan's own slot, as a projection's values do,
 * and a heap copy of it is the stored tuple's bytes with the masked
 * columns left out, in one pass.  Read column by column, it is the scan's
 * columns with the masked ones NULL.
 *
 * Otherwise it is a virtual slot: once materialized, or filled by a copy,
 * it holds its own values and PostgreSQL's virtual slot code serves it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tupmacs.h"
#include "executor/tuptable.h"

#include "acl.h"

/* A column as stored: its length (or -1, -2) and alignment, as a mask. */
typedef struct StoredColumn
{
	int16		attlen;
	uint8		align_mask;
} StoredColumn;

typedef struct MaskedTupleSlot
{
	VirtualTupleTableSlot base; /* first: the virtual slot code reads it */
	TupleTableSlot *source;		/* the scan's slot; NULL once materialized */
	bool	   *masked;			/* by attno - 1 */
	TupleTableSlot *checked;	/* the last source whose layout was checked */
	bool		copies_stored;	/* whether its stored tuples can be copied */
	StoredColumn *columns;		/* by attno - 1 */
} MaskedTupleSlot;

static void
masked_slot_init(TupleTableSlot *slot)
{
	MaskedTupleSlot *mslot = (MaskedTupleSlot *) slot;

	TTSOpsVirtual.init(slot);
	mslot->source = NULL;
	mslot->checked = NULL;
	mslot->masked = MemoryContextAllocZero(slot->tts_mcxt,
										   Max(slot->tts_tupleDescriptor->natts, 1) * sizeof(bool));
	mslot->columns = MemoryContextAlloc(slot->tts_mcxt,
										Max(slot->tts_tupleDescriptor->natts, 1) * sizeof(StoredColumn));
	for (int i = 0; i < slot->tts_tupleDescriptor->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(slot->tts_tupleDescriptor, i);

		mslot->columns[i].attlen = att->attlen;
		mslot->columns[i].align_mask = att_align_nominal(1, att->attalign) - 1;
	}
}

static void
masked_slot_release(TupleTableSlot *slot)
{
	MaskedTupleSlot *mslot = (MaskedTupleSlot *) slot;

	TTSOpsVirtual.release(slot);
	pfree(mslot->masked);
	pfree(mslot->columns);
	mslot->masked = NULL;
	mslot->columns = NULL;
}

static void
masked_slot_clear(TupleTableSlot *slot)
{
	((MaskedTupleSlot *) slot)->source = NULL;
	TTSOpsVirtual.clear(slot);
}

static void
masked_slot_getsomeattrs(TupleTableSlot *slot, int natts)
{
	MaskedTupleSlot *mslot = (MaskedTupleSlot *) slot;
	TupleTableSlot *source = mslot->source;

	if (source == NULL)
		elog(ERROR, "acl: a masked row has no source row to read");
	slot_getsomeattrs(source, natts);
	for (int i = slot->tts_nvalid; i < natts; i++)
	{
		bool		hidden = mslot->masked[i] || source->tts_isnull[i];

		slot->tts_values[i] = hidden ? (Datum) 0 : source->tts_values[i];
		slot->tts_isnull[i] = hidden;
	}
	slot->tts_nvalid = natts;
}

/* A masked column has no system columns of its own; the row's are the scan's. */
static Datum
masked_slot_getsysattr(TupleTableSlot *slot, int attnum, bool *isnull)
{
	MaskedTupleSlot *mslot = (MaskedTupleSlot *) slot;

	if (mslot->source == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot retrieve a system column in this context")));
	return slot_getsysattr(mslot->source, attnum, isnull);
}

static void
masked_slot_materialize(TupleTableSlot *slot)
{
	MaskedTupleSlot *mslot = (MaskedTupleSlot *) slot;

	if (mslot->source != NULL)
	{
		slot_getallattrs(slot);
		mslot->source = NULL;
	}
	TTSOpsVirtual.materialize(slot);
}

static void
masked_slot_copyslot(TupleTableSlot *dstslot, TupleTableSlot *srcslot)
{
	TupleDesc	srcdesc = srcslot->tts_tupleDescriptor;

	ExecClearTuple(dstslot);
	slot_getallattrs(srcslot);
	memcpy(dstslot->tts_values, srcslot->tts_values, srcdesc->natts * sizeof(Datum));
	memcpy(dstslot->tts_isnull, srcslot->tts_isnull, srcdesc->natts * sizeof(bool));
	dstslot->tts_nvalid = srcdesc->natts;
	dstslot->tts_flags &= ~TTS_FLAG_EMPTY;
	TTSOpsVirtual.materialize(dstslot);
}

/*
 * The stored tuple without the masked columns, read from its own bytes: a
 * by-reference value (packed, compressed or a TOAST pointer alike) is
 * copied as stored, and each kept column is placed as heap_fill_tuple
 * places that datum, so the result is the tuple heap_form_tuple would form
 * from this slot's values, without deforming the stored tuple and without
 * heap_form_tuple's passes to size and pack.  Kept columns that lie
 * together, with no masked column between them and padded alike in both,
 * go in one copy.  Padding is zero, which
 * readers rely on to tell a pad byte from a short varlena; the stored
 * tuple's padding is zero too.
 */
static HeapTuple
masked_heap_copy(TupleDesc desc, TupleTableSlot *source, const bool *masked,
				 const StoredColumn *columns)
{
	HeapTuple	stored = ExecFetchSlotHeapTuple(source, false, NULL);
	HeapTupleHeader from = stored->t_data;
	bits8	   *stored_nulls = HeapTupleHasNulls(stored) ? from->t_bits : NULL;
	char	   *src = (char *) from + from->t_hoff;
	int			natts = Min(desc->natts, HeapTupleHeaderGetNatts(from));
	Size		hoff = MAXALIGN(offsetof(HeapTupleHeaderData, t_bits) + BITMAPLEN(desc->natts));
	Size		room = hoff + (stored->t_len - from->t_hoff) + (Size) natts * MAXIMUM_ALIGNOF;
	HeapTuple	tuple;
	HeapTupleHeader td;
	char	   *data;
	uint32		soff = 0;		/* the stored column's offset, then its end */
	uint32		doff = 0;		/* the end of what the copy holds */
	uint32		run_src = 0;	/* the bytes not copied yet: source */
	uint32		run_dst = 0;	/* and destination */
	uint32		run_len = 0;
	bool		skipped = false;	/* a masked column's bytes lie since */
	uint16		infomask = HEAP_HASNULL;

	tuple = palloc(HEAPTUPLESIZE + room);
	td = (HeapTupleHeader) ((char *) tuple + HEAPTUPLESIZE);
	memset(td, 0, hoff);
	data = (char *) td + hoff;
	/* Every column the stored tuple has not null, until one is masked. */
	if (stored_nulls != NULL)
		memcpy(td->t_bits, stored_nulls, BITMAPLEN(natts));
	else
	{
		memset(td->t_bits, 0xFF, natts >> 3);
		if (natts & 0x07)
			td->t_bits[natts >> 3] = (1 << (natts & 0x07)) - 1;
	}
	for (int i = 0; i < natts; i++)
	{
		uint32		mask = columns[i].align_mask;
		uint32		start;
		uint32		place;

		if (stored_nulls != NULL && att_isnull(i, stored_nulls))
			continue;
		if (columns[i].attlen > 0)
		{
			start = (soff + mask) & ~mask;
			soff = start + columns[i].attlen;
			place = (doff + mask) & ~mask;
		}
		else if (columns[i].attlen == -1)
		{
			/* A zero byte pads to a 4-byte header; a short one is unaligned. */
			start = src[soff] != 0 ? soff : (soff + mask) & ~mask;
			if (VARATT_IS_1B(src + start))
			{
				place = doff;
				if (VARATT_IS_1B_E(src + start))
				{
					infomask |= HEAP_HASEXTERNAL;
					soff = start + VARSIZE_EXTERNAL(src + start);
				}
				else
					soff = start + VARSIZE_1B(src + start);
			}
			else
			{
				place = (doff + mask) & ~mask;
				soff = start + VARSIZE_4B(src + start);
			}
			infomask |= HEAP_HASVARWIDTH;
		}
		else
		{
			start = soff;
			soff = start + strlen(src + start) + 1;
			place = doff;
			infomask |= HEAP_HASVARWIDTH;
		}
		if (masked[i])
		{
			td->t_bits[i >> 3] &= ~(1 << (i & 0x07));
			skipped = true;
			continue;
		}
		if (skipped || start - (run_src + run_len) != place - doff)
		{
			memcpy(data + run_dst, src + run_src, run_len);
			while (doff < place)
				data[doff++] = 0;
			run_src = start;
			run_dst = place;
			skipped = false;
		}
		run_len = soff - run_src;
		doff = place + (soff - start);
	}
	memcpy(data + run_dst, src + run_src, run_len);
	if (hoff + doff > room)
		elog(ERROR, "acl: a masked row outgrew the row it was read from");

	tuple->t_len = hoff + doff;
	ItemPointerSetInvalid(&tuple->t_self);
	tuple->t_tableOid = InvalidOid;
	tuple->t_data = td;
	HeapTupleHeaderSetDatumLength(td, tuple->t_len);
	HeapTupleHeaderSetTypeId(td, desc->tdtypeid);
	HeapTupleHeaderSetTypMod(td, desc->tdtypmod);
	ItemPointerSetInvalid(&td->t_ctid);
	HeapTupleHeaderSetNatts(td, desc->natts);
	td->t_hoff = hoff;
	td->t_infomask = infomask;
	return tuple;
}

/* Whether source holds stored tuples laid out as slot's columns. */
static bool
copies_stored(TupleTableSlot *slot, TupleTableSlot *source)
{
	TupleDesc	desc = slot->tts_tupleDescriptor;
	TupleDesc	stored = source->tts_tupleDescriptor;

	if (source->tts_ops != &TTSOpsBufferHeapTuple && source->tts_ops != &TTSOpsHeapTuple)
		return false;
	if (stored->natts != desc->natts)
		return false;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		Form_pg_attribute b = TupleDescAttr(stored, i);

		if (a->attlen != b->attlen || a->attalign != b->attalign || a->attbyval != b->attbyval ||
			b->attisdropped)
			return false;
	}
	return true;
}

static HeapTuple
masked_slot_copy_heap_tuple(TupleTableSlot *slot)
{
	MaskedTupleSlot *mslot = (MaskedTupleSlot *) slot;

	if (mslot->source != NULL)
	{
		/* A scan returns its rows in one slot: checked once. */
		if (mslot->checked != mslot->source)
		{
			mslot->copies_stored = copies_stored(slot, mslot->source);
			mslot->checked = mslot->source;
		}
		if (mslot->copies_stored)
			return masked_heap_copy(slot->tts_tupleDescriptor, mslot->source, mslot->masked,
									mslot->columns);
	}
	slot_getallattrs(slot);
	return heap_form_tuple(slot->tts_tupleDescriptor, slot->tts_values, slot->tts_isnull);
}

static MinimalTuple
masked_slot_copy_minimal_tuple(TupleTableSlot *slot)
{
	slot_getallattrs(slot);
	return heap_form_minimal_tuple(slot->tts_tupleDescriptor, slot->tts_values, slot->tts_isnull);
}

const TupleTableSlotOps AclMaskedSlotOps = {
	.base_slot_size = sizeof(MaskedTupleSlot),
	.init = masked_slot_init,
	.release = masked_slot_release,
	.clear = masked_slot_clear,
	.getsomeattrs = masked_slot_getsomeattrs,
	.getsysattr = masked_slot_getsysattr,
	.materialize = masked_slot_materialize,
	.copyslot = masked_slot_copyslot,
	.get_heap_tuple = NULL,
	.get_minimal_tuple = NULL,
	.copy_heap_tuple = masked_slot_copy_heap_tuple,
	.copy_minimal_tuple = masked_slot_copy_minimal_tuple,
};

/* The columns masked in the next row stored: true hides one. */
bool *
acl_masked_slot_columns(TupleTableSlot *slot)
{
	Assert(slot->tts_ops == &AclMaskedSlotOps);
	return ((MaskedTupleSlot *) slot)->masked;
}

/*
 * Stores source's row, with the columns acl_masked_slot_columns marks
 * masked.  slot refers to source until it is materialized: like the
 * values a projection computes from a scan's row, it is valid until the
 * scan moves on.
 */
TupleTableSlot *
acl_masked_slot_store(TupleTableSlot *slot, TupleTableSlot *source)
{
	Assert(slot->tts_ops == &AclMaskedSlotOps);
	ExecClearTuple(slot);
	((MaskedTupleSlot *) slot)->source = source;
	slot->tts_tableOid = source->tts_tableOid;
	slot->tts_tid = source->tts_tid;
	slot->tts_flags &= ~TTS_FLAG_EMPTY;
	return slot;
}
