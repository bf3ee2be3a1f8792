-- The listed local numbers (7 digits, as BIGINT `local`) of one area code, for its look-up bitmap
-- (adapters/dnc_index.py). Parameters: the area code's first 10-digit number (area code x 10,000,000) twice,
-- then the first number of the next area code. A range on the sorted `numbers`: the zone maps skip the rest.
SELECT phone - ? AS local FROM numbers WHERE phone >= ? AND phone < ?
