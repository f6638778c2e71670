package audit

// oNoFollow: Windows opens a symbolic link's target only with
// FILE_FLAG_OPEN_REPARSE_POINT unset; os.OpenFile has no flag for it, so
// the Lstat check in openNoFollow's caller is the defence there.
const oNoFollow = 0
