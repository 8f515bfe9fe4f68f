/*-------------------------------------------------------------------------
 *
 * masked_slot.h
 *	  The masked row slot (masked_slot.c), its layout shared with the branch
 *	  scan so that storing each row in it is not a function call.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ACL_MASKED_SLOT_H
#define ACL_MASKED_SLOT_H

#include "executor/tuptable.h"

/*
 * A column as stored: its length (or -1, -2) and alignment, as a mask; and
 * whether the rows stored mask it.
 */
typedef struct StoredColumn
{
	int16		attlen;
	uint8		align_mask;
	bool		masked;
} StoredColumn;

typedef struct MaskedTupleSlot
{
	VirtualTupleTableSlot base; /* first: the virtual slot code reads it */
	TupleTableSlot *source;		/* the scan's slot; NULL once materialized */
	TupleTableSlot *checked;	/* the last source whose layout was checked */
	bool		copies_stored;	/* whether its stored tuples can be copied */
	StoredColumn *columns;		/* by attno - 1 */
	HeapTupleHeader header;		/* a copy's header, every column not null */
	int			nfixed;			/* the leading fixed-length columns... */
	uint32	   *fixed_ends;		/* ...end here, when none is NULL */
	int			kept_lead;		/* of those, the ones before the first masked */
} MaskedTupleSlot;

extern PGDLLIMPORT const TupleTableSlotOps AclMaskedSlotOps;
extern void acl_masked_slot_set_masked(TupleTableSlot *slot, const bool *masked);

/*
 * Stores source's row, with the columns acl_masked_slot_set_masked last
 * set masked.  slot refers to source until it is materialized: like the
 * values a projection computes from a scan's row, it is valid until the
 * scan moves on.
 */
static inline TupleTableSlot *
acl_masked_slot_store(TupleTableSlot *slot, TupleTableSlot *source)
{
	Assert(slot->tts_ops == &AclMaskedSlotOps);
	/* Clearing a slot that holds no values of its own forgets what it read. */
	if (TTS_SHOULDFREE(slot))
		ExecClearTuple(slot);
	slot->tts_nvalid = 0;
	((MaskedTupleSlot *) slot)->source = source;
	slot->tts_tableOid = source->tts_tableOid;
	slot->tts_tid = source->tts_tid;
	slot->tts_flags &= ~TTS_FLAG_EMPTY;
	return slot;
}

#endif							/* ACL_MASKED_SLOT_H */
