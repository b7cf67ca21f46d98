package tracker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"supportgate/bitrix"
	"supportgate/rules"

	bolt "go.etcd.io/bbolt"
)

// diskBucket keeps the Drive folders made for files (portal, folder name
// and month → folder id), so each is looked up or made once, and a
// restart asks the portal nothing.
var diskBucket = []byte("tracker.disk")

// uploadFolder is where a message's files go: [bitrix] folder_id when
// set, else the month's subfolder of [bitrix] folder_name in the webhook
// user's own Drive storage (docs/bitrix24.md §5), made on first use.
func (t *Tracker) uploadFolder(ctx context.Context, c *bitrix.Client, cfg *rules.Config, now time.Time) (int64, error) {
	if cfg.Bitrix.FolderID > 0 {
		return cfg.Bitrix.FolderID, nil
	}
	name := strings.TrimSpace(cfg.Bitrix.FolderName)
	if name == "" {
		name = "supportgate"
	}
	month := now.Format("2006-01")
	t.diskMu.Lock() // one folder made at a time: two jobs must not make two
	defer t.diskMu.Unlock()
	base := c.Origin() + " " + name
	if id := t.diskGet(base + "/" + month); id > 0 {
		return id, nil
	}
	top := t.diskGet(base)
	if top == 0 {
		me, err := c.CurrentUser(ctx)
		if err != nil {
			return 0, remoteErr("user.current", err)
		}
		st, err := c.UserStorage(ctx, me.ID)
		if err != nil {
			return 0, remoteErr("disk.storage.getlist", err)
		}
		if st == nil {
			return 0, fmt.Errorf("disk.storage.getlist: the webhook user %d has no Drive storage: %w", me.ID, errNoStorage)
		}
		if top, err = t.folder(ctx, c, st.RootFolder, name); err != nil {
			return 0, err
		}
		if err := t.diskPut(base, top); err != nil {
			return 0, err
		}
	}
	id, err := t.folder(ctx, c, top, month)
	if err != nil {
		return 0, err
	}
	t.log.Info("Drive folder for files", "folder", name+"/"+month, "id", id)
	return id, t.diskPut(base+"/"+month, id)
}

var errNoStorage = errors.New("no Drive storage")

// folder finds folder name in parent, or makes it. Looking first makes a
// retry after an unknown outcome (or a lost cache) reuse the folder.
func (t *Tracker) folder(ctx context.Context, c *bitrix.Client, parent int64, name string) (int64, error) {
	id, err := c.FindFolder(ctx, parent, name)
	if err != nil {
		return 0, remoteErr("disk.folder.getchildren", err)
	}
	if id > 0 {
		return id, nil
	}
	if id, err = c.AddFolder(ctx, parent, name); err != nil {
		return 0, remoteErr("disk.folder.addsubfolder", err)
	}
	return id, nil
}

func (t *Tracker) diskGet(key string) int64 {
	var id int64
	t.st.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(diskBucket); b != nil {
			id, _ = strconv.ParseInt(string(b.Get([]byte(key))), 10, 64)
		}
		return nil
	})
	return id
}

func (t *Tracker) diskPut(key string, id int64) error {
	return t.st.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(diskBucket)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), []byte(strconv.FormatInt(id, 10)))
	})
}

// FilesTarget says where files will go, for check -online: folder_id, or
// the storage folder (looked up, not made).
func (t *Tracker) FilesTarget(ctx context.Context) (string, error) {
	c, err := t.bx()
	if err != nil {
		return "", err
	}
	cfg := t.cfg.Get()
	if cfg.Bitrix.FolderID > 0 {
		return fmt.Sprintf("Drive folder %d (bitrix.folder_id)", cfg.Bitrix.FolderID), nil
	}
	me, err := c.CurrentUser(ctx)
	if err != nil {
		return "", err
	}
	st, err := c.UserStorage(ctx, me.ID)
	if err != nil {
		return "", err
	}
	if st == nil {
		return "", fmt.Errorf("the webhook user %d has no Drive storage (disk scope?); set bitrix.folder_id", me.ID)
	}
	month := time.Now().Format("2006-01")
	where := "made on the first file"
	if id, err := c.FindFolder(ctx, st.RootFolder, cfg.Bitrix.FolderName); err != nil {
		return "", err
	} else if id > 0 {
		where = fmt.Sprintf("folder %d exists", id)
	}
	return fmt.Sprintf("the webhook user's Drive (storage %d): %s/%s (%s)", st.ID, cfg.Bitrix.FolderName, month, where), nil
}

// refusalReason is the portal's refusal, short, for the task's line.
func refusalReason(err error) string {
	var e *bitrix.Error
	if errors.As(err, &e) {
		why := strings.TrimSpace(e.Description)
		if e.Code != "" {
			why = strings.TrimSpace(e.Code + " " + why)
		}
		if why != "" {
			return why
		}
	}
	return err.Error()
}

// refusedNote names each file the portal refused, with the reason.
func refusedNote(u *uploads, lang string) string {
	var b strings.Builder
	for _, f := range u.Refused {
		b.WriteString("\n[I]" + fmt.Sprintf(word(lang, "refused"), escapeBBCode(f.Name), escapeBBCode(f.Reason)) + "[/I]\n")
	}
	return b.String()
}

// noFolderReason says why there was no folder for files.
func noFolderReason(u *uploads, lang string) string {
	if u.NoFolderWhy != "" {
		return word(lang, "no_drive") + escapeBBCode(u.NoFolderWhy)
	}
	return word(lang, "no_folder_id")
}
