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
#include "masked_slot.h"

/* A heap tuple's header length for natts columns, some NULL. */
#define MASKED_HOFF(natts) MAXALIGN(offsetof(HeapTupleHeaderData, t_bits) + BITMAPLEN(natts))

/*
 * The header every copy of a masked row starts from: all but its length,
 * its "has varlenas" flags and which columns are NULL are the same for
 * every row of the slot.
 */
static HeapTupleHeader
header_template(TupleDesc desc, MemoryContext mcxt)
{
	int			natts = desc->natts;
	HeapTupleHeader header = MemoryContextAllocZero(mcxt, MASKED_HOFF(natts));

	HeapTupleHeaderSetTypeId(header, desc->tdtypeid);
	HeapTupleHeaderSetTypMod(header, desc->tdtypmod);
	ItemPointerSetInvalid(&header->t_ctid);
	HeapTupleHeaderSetNatts(header, natts);
	header->t_hoff = MASKED_HOFF(natts);
	header->t_infomask = HEAP_HASNULL;
	memset(header->t_bits, 0xFF, natts >> 3);
	if (natts & 0x07)
		header->t_bits[natts >> 3] = (1 << (natts & 0x07)) - 1;
	return header;
}

/* Where the leading fixed-length columns end in a row with no NULL among them. */
static void
fixed_ends(MaskedTupleSlot *mslot)
{
	TupleDesc	desc = mslot->base.base.tts_tupleDescriptor;
	uint32		off = 0;

	mslot->nfixed = 0;
	mslot->fixed_ends = MemoryContextAlloc(mslot->base.base.tts_mcxt,
										   Max(desc->natts, 1) * sizeof(uint32));
	for (int i = 0; i < desc->natts && TupleDescAttr(desc, i)->attlen > 0; i++)
	{
		off = att_align_nominal(off, TupleDescAttr(desc, i)->attalign) + TupleDescAttr(desc, i)->attlen;
		mslot->fixed_ends[i] = off;
		mslot->nfixed = i + 1;
	}
}

static void
masked_slot_init(TupleTableSlot *slot)
{
	MaskedTupleSlot *mslot = (MaskedTupleSlot *) slot;

	TTSOpsVirtual.init(slot);
	mslot->source = NULL;
	mslot->checked = NULL;
	mslot->columns = MemoryContextAlloc(slot->tts_mcxt,
										Max(slot->tts_tupleDescriptor->natts, 1) * sizeof(StoredColumn));
	for (int i = 0; i < slot->tts_tupleDescriptor->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(slot->tts_tupleDescriptor, i);

		mslot->columns[i].attlen = att->attlen;
		mslot->columns[i].align_mask = att_align_nominal(1, att->attalign) - 1;
		/* Every column hides until the owner says which do. */
		mslot->columns[i].masked = true;
	}
	mslot->header = header_template(slot->tts_tupleDescriptor, slot->tts_mcxt);
	fixed_ends(mslot);
	mslot->kept_lead = 0;
}

static void
masked_slot_release(TupleTableSlot *slot)
{
	MaskedTupleSlot *mslot = (MaskedTupleSlot *) slot;

	TTSOpsVirtual.release(slot);
	pfree(mslot->columns);
	pfree(mslot->header);
	pfree(mslot->fixed_ends);
	mslot->columns = NULL;
	mslot->header = NULL;
	mslot->fixed_ends = NULL;
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
		bool		hidden = mslot->columns[i].masked || source->tts_isnull[i];

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

/* Copies len bytes, width <= len <= 2 * width, as two overlapping words. */
static pg_attribute_always_inline void
copy_ends(char *dst, const char *src, uint32 len, uint32 width)
{
	uint64		head = 0;
	uint64		tail = 0;

	memcpy(&head, src, width);
	memcpy(&tail, src + len - width, width);
	memcpy(dst, &head, width);
	memcpy(dst + len - width, &tail, width);
}

/*
 * Copies a run of kept bytes.  Most runs are a column or two: a call to
 * memcpy costs more than moving them.
 */
static inline void
copy_run(char *dst, const char *src, uint32 len)
{
	if (len > 16)
		memcpy(dst, src, len);
	else if (len >= 8)
		copy_ends(dst, src, len, 8);
	else if (len >= 4)
		copy_ends(dst, src, len, 4);
	else if (len > 0)
	{
		dst[0] = src[0];
		dst[len / 2] = src[len / 2];
		dst[len - 1] = src[len - 1];
	}
}

/*
 * Where a stored column starts and ends, given where the one before it
 * ended; aligned says whether its start is aligned (a short varlena's and a
 * cstring's is not).
 */
static pg_attribute_always_inline uint32
stored_column_end(const StoredColumn *column, const char *src, uint32 soff,
				  uint32 *start, bool *aligned)
{
	uint32		mask = column->align_mask;

	if (column->attlen > 0)
	{
		*start = (soff + mask) & ~mask;
		*aligned = true;
		return *start + column->attlen;
	}
	if (column->attlen == -1)
	{
		/* A zero byte pads to a 4-byte header; a short one is unaligned. */
		*start = src[soff] != 0 ? soff : (soff + mask) & ~mask;
		*aligned = !VARATT_IS_1B(src + *start);
		if (*aligned)
			return *start + VARSIZE_4B(src + *start);
		if (VARATT_IS_1B_E(src + *start))
			return *start + VARSIZE_EXTERNAL(src + *start);
		return *start + VARSIZE_1B(src + *start);
	}
	*start = soff;
	*aligned = false;
	return soff + strlen(src + soff) + 1;
}

/*
 * The stored tuple without the masked columns, read from its own bytes: a
 * by-reference value (packed, compressed or a TOAST pointer alike) is
 * copied as stored, and each kept column is placed as heap_fill_tuple
 * places that datum, so the result holds the bytes heap_form_tuple would
 * form from this slot's values (its flags may say "may have varlenas" where
 * that would say "has none"), without deforming the stored tuple and
 * without heap_form_tuple's passes to size and pack.  Kept columns that lie
 * together, with no masked column between them and padded alike in both,
 * go in one copy.  Padding is zero, which readers rely on to tell a pad
 * byte from a short varlena; the stored tuple's padding is zero too.
 * stored has all of desc's columns.  Inlined twice, for stored tuples with
 * and without NULLs, so that a row without them tests none.
 */
static pg_attribute_always_inline HeapTuple
masked_heap_copy_impl(MaskedTupleSlot *mslot, HeapTuple stored, bool has_nulls)
{
	int			natts = mslot->base.base.tts_tupleDescriptor->natts;
	const StoredColumn *columns = mslot->columns;
	int			begin = mslot->kept_lead;
	HeapTupleHeader from = stored->t_data;
	const bits8 *stored_nulls = from->t_bits;
	const char *src = (char *) from + from->t_hoff;
	Size		hoff = MASKED_HOFF(natts);

	/* Room for padding each column, and for an 8-byte store of a pad. */
	Size		room = hoff + (stored->t_len - from->t_hoff) + (Size) (natts + 1) * MAXIMUM_ALIGNOF;
	HeapTuple	tuple;
	HeapTupleHeader td;
	char	   *data;
	uint32		soff = 0;		/* the stored column's offset, then its end */
	uint32		doff = 0;		/* the end of what the copy holds */
	uint32		run_src = 0;	/* the kept bytes not copied yet, from */
	uint32		run_end = 0;	/* to */
	uint32		shift = 0;		/* a kept byte's offset in src less its in data */
	bool		in_run = true;

	/*
	 * What the stored tuple has, it may no longer: a reader takes the flags
	 * as "may have", and heap_form_tuple would set them as "has".
	 */
	uint16		infomask = HEAP_HASNULL | (from->t_infomask & (HEAP_HASVARWIDTH | HEAP_HASEXTERNAL));

	tuple = palloc(HEAPTUPLESIZE + room);
	td = (HeapTupleHeader) ((char *) tuple + HEAPTUPLESIZE);
	data = (char *) td + hoff;

	/* Every column the stored tuple has not null; masked ones are cleared. */
	if (hoff <= 32)
	{
		copy_ends((char *) td, (char *) mslot->header, 16, 8);
		copy_ends((char *) td + 16, (char *) mslot->header + 16, hoff - 16, 8);
	}
	else
		memcpy(td, mslot->header, hoff);
	if (has_nulls)
		copy_run((char *) td->t_bits, (const char *) stored_nulls, BITMAPLEN(natts));

	/*
	 * Leading fixed-length columns, none NULL or masked, are kept as they
	 * lie: the walk starts after them.
	 */
	for (int i = 0; has_nulls && i < begin; i++)
	{
		if (att_isnull(i, stored_nulls))
		{
			begin = i;
			break;
		}
	}
	if (begin > 0)
		soff = doff = run_end = mslot->fixed_ends[begin - 1];

	for (int i = begin; i < natts; i++)
	{
		uint32		mask = columns[i].align_mask;
		uint32		start;
		uint32		place;
		bool		aligned;

		if (has_nulls && att_isnull(i, stored_nulls))
			continue;
		soff = stored_column_end(&columns[i], src, soff, &start, &aligned);
		if (columns[i].masked)
		{
			td->t_bits[i >> 3] &= ~(1 << (i & 0x07));
			if (in_run)
				copy_run(data + run_src - shift, src + run_src, run_end - run_src);
			in_run = false;
			continue;
		}
		place = aligned ? (doff + mask) & ~mask : doff;
		if (!in_run || start - place != shift)
		{
			if (in_run)
				copy_run(data + run_src - shift, src + run_src, run_end - run_src);
			/* A pad is under 8 bytes; what follows it is written later. */
			if (doff < place)
			{
				uint64		zero = 0;

				memcpy(data + doff, &zero, 8);
			}
			run_src = start;
			shift = start - place;
			in_run = true;
		}
		run_end = soff;
		doff = soff - shift;
	}
	if (in_run)
		copy_run(data + run_src - shift, src + run_src, run_end - run_src);
	if (hoff + doff + MAXIMUM_ALIGNOF > room)
		elog(ERROR, "acl: a masked row outgrew the row it was read from");

	tuple->t_len = hoff + doff;
	ItemPointerSetInvalid(&tuple->t_self);
	tuple->t_tableOid = InvalidOid;
	tuple->t_data = td;
	HeapTupleHeaderSetDatumLength(td, tuple->t_len);
	td->t_infomask = infomask;
	return tuple;
}

static HeapTuple
masked_heap_copy(MaskedTupleSlot *mslot, HeapTuple stored)
{
	if (HeapTupleHasNulls(stored))
		return masked_heap_copy_impl(mslot, stored, true);
	return masked_heap_copy_impl(mslot, stored, false);
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
		{
			/* Both kinds are heap tuple slots, whose tuple a fetch returns. */
			HeapTuple	stored = ((HeapTupleTableSlot *) mslot->source)->tuple;

			if (stored == NULL)
				stored = ExecFetchSlotHeapTuple(mslot->source, false, NULL);

			/*
			 * A row stored before columns were added has fewer: they read as
			 * their missing values, which a masked one must not.
			 */
			if (HeapTupleHeaderGetNatts(stored->t_data) == slot->tts_tupleDescriptor->natts)
				return masked_heap_copy(mslot, stored);
		}
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

/*
 * Sets which columns the rows stored from now on mask: masked[attno - 1]
 * true hides a column.  Until it is first called, every column is hidden.
 */
void
acl_masked_slot_set_masked(TupleTableSlot *slot, const bool *masked)
{
	MaskedTupleSlot *mslot = (MaskedTupleSlot *) slot;

	Assert(slot->tts_ops == &AclMaskedSlotOps);
	mslot->kept_lead = mslot->nfixed;
	for (int i = slot->tts_tupleDescriptor->natts - 1; i >= 0; i--)
	{
		mslot->columns[i].masked = masked[i];
		if (masked[i] && i < mslot->kept_lead)
			mslot->kept_lead = i;
	}
}
