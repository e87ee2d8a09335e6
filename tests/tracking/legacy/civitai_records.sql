-- A civitai-records database as its published schema describes it (issue 18): the
-- tables, column names and types of the original server's ``civitai`` schema, its
-- ``set_created_updated_by`` / audit-event trigger behaviour, and the columns later
-- migrations added (``input_asset_ids``, ``on_behalf_of``, asset_stats' extras).
--
-- Written for civitrack's tests, with two departures that keep them self-contained:
--
-- * Creator and actor are the PostgreSQL role (``current_user``) as in the original,
--   unless the session sets ``civrec.actor``: tests act as several people without
--   creating cluster-wide roles on a shared server.
-- * ``civrec.now``, when set, stands for ``now()`` (in the triggers and the column
--   defaults), so fixtures can spread rows and events over a year.
--
-- ``sha256sum`` is nullable: rows recorded before hashing was mandatory have none.
-- Row level security, grants and the app roles are left out: the importer reads as
-- one role and never depends on them.

CREATE SCHEMA civitai;

CREATE TYPE civitai.asset_type AS ENUM ('image', 'video');
CREATE TYPE civitai.asset_source AS ENUM ('generated', 'upload');
CREATE TYPE civitai.post_status AS ENUM ('pending', 'published', 'failed');

CREATE FUNCTION civitai.actor() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('civrec.actor', true), ''), current_user::text)
$$;

CREATE FUNCTION civitai.clock() RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('civrec.now', true), '')::timestamptz, now())
$$;

CREATE TABLE civitai.events (
  id           bigserial   PRIMARY KEY,
  occurred_at  timestamptz NOT NULL DEFAULT civitai.clock(),
  actor        text        NOT NULL,
  table_name   text        NOT NULL,
  op           text        NOT NULL,
  row_id       bigint      NOT NULL,
  old_data     jsonb,
  new_data     jsonb
);

CREATE FUNCTION civitai.stamp_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.created_by := civitai.actor();
    NEW.updated_by := civitai.actor();
    BEGIN
      IF NEW.on_behalf_of IS NULL THEN
        NEW.on_behalf_of := NEW.created_by;
      END IF;
    EXCEPTION WHEN undefined_column THEN
      NULL;  -- asset_stats had no on_behalf_of at first
    END;
    NEW.created_at := coalesce(NEW.created_at, civitai.clock());
    NEW.updated_at := civitai.clock();
  ELSE
    IF NEW.created_by IS DISTINCT FROM OLD.created_by THEN
      RAISE EXCEPTION 'created_by is immutable';
    END IF;
    NEW.updated_by := civitai.actor();
    NEW.updated_at := civitai.clock();
  END IF;
  RETURN NEW;
END;
$$;

CREATE FUNCTION civitai.record_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO civitai.events (occurred_at, actor, table_name, op, row_id, old_data, new_data)
  VALUES (
    civitai.clock(), civitai.actor(), TG_TABLE_NAME, TG_OP, NEW.id,
    CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END, to_jsonb(NEW)
  );
  RETURN NEW;
END;
$$;

CREATE TABLE civitai.prompts (
  id                  bigserial   PRIMARY KEY,
  content             text        NOT NULL,
  llm_model_provider  text,
  llm_model           text,
  purpose             text,
  metadata            jsonb,
  created_by          text        NOT NULL DEFAULT current_user,
  updated_by          text        NOT NULL DEFAULT current_user,
  on_behalf_of        text,
  created_at          timestamptz NOT NULL DEFAULT civitai.clock(),
  updated_at          timestamptz NOT NULL DEFAULT civitai.clock()
);

CREATE TABLE civitai.civitai_posts (
  id               bigserial   PRIMARY KEY,
  title            text,
  description      text,
  civitai_id       text        NOT NULL,
  civitai_url      text        NOT NULL,
  civitai_account  text        NOT NULL DEFAULT 'c29',
  status           civitai.post_status NOT NULL,
  metadata         jsonb,
  created_by       text        NOT NULL DEFAULT current_user,
  updated_by       text        NOT NULL DEFAULT current_user,
  on_behalf_of     text,
  created_at       timestamptz NOT NULL DEFAULT civitai.clock(),
  updated_at       timestamptz NOT NULL DEFAULT civitai.clock(),
  CONSTRAINT civitai_posts_civitai_id_unique UNIQUE (civitai_id)
);

CREATE TABLE civitai.assets (
  id                bigserial   PRIMARY KEY,
  input_prompt_id   bigint      REFERENCES civitai.prompts (id),
  output_prompt_id  bigint      REFERENCES civitai.prompts (id),
  asset_type        civitai.asset_type   NOT NULL,
  asset_source      civitai.asset_source NOT NULL,
  uri               text        NOT NULL,
  sha256sum         text,
  civitai_id        text,
  civitai_url       text,
  post_id           bigint      REFERENCES civitai.civitai_posts (id),
  input_asset_ids   bigint[]    NOT NULL DEFAULT '{}',
  metadata          jsonb,
  created_by        text        NOT NULL DEFAULT current_user,
  updated_by        text        NOT NULL DEFAULT current_user,
  on_behalf_of      text,
  created_at        timestamptz NOT NULL DEFAULT civitai.clock(),
  updated_at        timestamptz NOT NULL DEFAULT civitai.clock(),
  CONSTRAINT assets_sha256sum_unique UNIQUE (sha256sum)
);
CREATE UNIQUE INDEX assets_civitai_id_unique ON civitai.assets (civitai_id)
  WHERE civitai_id IS NOT NULL;
CREATE INDEX assets_input_asset_ids_idx ON civitai.assets USING gin (input_asset_ids);

CREATE TABLE civitai.asset_stats (
  id                  bigserial   PRIMARY KEY,
  asset_id            bigint      NOT NULL UNIQUE REFERENCES civitai.assets (id),
  cry_count           bigint      NOT NULL DEFAULT 0,
  laugh_count         bigint      NOT NULL DEFAULT 0,
  like_count          bigint      NOT NULL DEFAULT 0,
  dislike_count       bigint      NOT NULL DEFAULT 0,
  heart_count         bigint      NOT NULL DEFAULT 0,
  comment_count       bigint      NOT NULL DEFAULT 0,
  post_id             bigint      REFERENCES civitai.civitai_posts (id),
  civitai_created_at  timestamptz,
  civitai_account     text,
  on_behalf_of        text,
  created_by          text        NOT NULL DEFAULT current_user,
  updated_by          text        NOT NULL DEFAULT current_user,
  created_at          timestamptz NOT NULL DEFAULT civitai.clock(),
  updated_at          timestamptz NOT NULL DEFAULT civitai.clock()
);

CREATE TRIGGER trg_prompts_created_updated_by BEFORE INSERT OR UPDATE ON civitai.prompts
  FOR EACH ROW EXECUTE FUNCTION civitai.stamp_row();
CREATE TRIGGER trg_prompts_audit_event AFTER INSERT OR UPDATE ON civitai.prompts
  FOR EACH ROW EXECUTE FUNCTION civitai.record_event();
CREATE TRIGGER trg_civitai_posts_created_updated_by BEFORE INSERT OR UPDATE ON civitai.civitai_posts
  FOR EACH ROW EXECUTE FUNCTION civitai.stamp_row();
CREATE TRIGGER trg_civitai_posts_audit_event AFTER INSERT OR UPDATE ON civitai.civitai_posts
  FOR EACH ROW EXECUTE FUNCTION civitai.record_event();
CREATE TRIGGER trg_assets_created_updated_by BEFORE INSERT OR UPDATE ON civitai.assets
  FOR EACH ROW EXECUTE FUNCTION civitai.stamp_row();
CREATE TRIGGER trg_assets_audit_event AFTER INSERT OR UPDATE ON civitai.assets
  FOR EACH ROW EXECUTE FUNCTION civitai.record_event();
CREATE TRIGGER trg_asset_stats_created_updated_by BEFORE INSERT OR UPDATE ON civitai.asset_stats
  FOR EACH ROW EXECUTE FUNCTION civitai.stamp_row();
CREATE TRIGGER trg_asset_stats_audit_event AFTER INSERT OR UPDATE ON civitai.asset_stats
  FOR EACH ROW EXECUTE FUNCTION civitai.record_event();
