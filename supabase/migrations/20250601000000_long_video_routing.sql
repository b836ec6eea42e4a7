-- Long-video routing: a video the Lambda cannot finish (too long for the time it has, too large for
-- its scratch disk) is forwarded once to the long-video queue, where `frames worker` on Fargate takes it.
-- Idempotent, additive: run after 20250101000000_frames_service.sql.

-- extraction_status = 'ROUTED_TO_WORKER' once forwarded (kept after the worker completes it: it says
-- which runtime did the work); routed_reason names the limit that was exceeded.
alter table public.videos add column if not exists extraction_status text;
alter table public.videos add column if not exists routed_to_worker_at timestamptz;
alter table public.videos add column if not exists routed_reason text;

-- claim_video, as before, plus "routed" in every answer, so a redelivery of a forwarded message
-- (even while the worker holds the lease: status locked) is recognised as already routed.
create or replace function public.claim_video(p_platform text, p_shortcode text, p_owner text, p_lease_seconds integer)
returns jsonb
language plpgsql
set search_path = public
as $$
declare
  v public.videos%rowtype;
begin
  if p_lease_seconds is null or p_lease_seconds < 1 then
    raise exception 'p_lease_seconds must be positive' using errcode = '22023';
  end if;
  select * into v from public.videos where platform = p_platform and shortcode = p_shortcode for update;
  if not found then
    return jsonb_build_object('status', 'not_found');
  end if;
  if v.is_extracted then
    return jsonb_build_object('status', 'already_extracted', 'frame_count', v.frame_count, 'routed', v.routed_to_worker_at is not null);
  end if;
  if not v.is_downloaded then
    return jsonb_build_object('status', 'not_downloaded');
  end if;
  if v.extraction_owner is not null and v.extraction_owner <> p_owner and v.extraction_lease_until > now() then
    return jsonb_build_object('status', 'locked', 'lease_until', v.extraction_lease_until, 'routed', v.routed_to_worker_at is not null);
  end if;
  update public.videos
     set extraction_owner = p_owner,
         extraction_lease_until = now() + make_interval(secs => p_lease_seconds),
         extraction_attempts = extraction_attempts + 1,
         updated_at = now()
   where id = v.id
   returning * into v;
  return jsonb_build_object('status', 'claimed', 'lease_until', v.extraction_lease_until, 'attempts', v.extraction_attempts,
                            'routed', v.routed_to_worker_at is not null);
end;
$$;

-- mark_video_routed: the video was forwarded to the long-video queue. Records ROUTED_TO_WORKER and
-- drops p_owner's lease (the worker claims it next). 'already_routed' when an earlier delivery did it;
-- 'lease_lost' when someone else holds a live lease (nothing changes).
create or replace function public.mark_video_routed(p_platform text, p_shortcode text, p_owner text, p_reason text)
returns jsonb
language plpgsql
set search_path = public
as $$
declare
  v public.videos%rowtype;
begin
  select * into v from public.videos where platform = p_platform and shortcode = p_shortcode for update;
  if not found then
    raise exception 'video %/% not found', p_platform, p_shortcode using errcode = 'P0002';
  end if;
  if v.routed_to_worker_at is not null then
    return jsonb_build_object('status', 'already_routed', 'routed_at', v.routed_to_worker_at);
  end if;
  if v.extraction_owner is not null and v.extraction_owner <> p_owner and v.extraction_lease_until > now() then
    return jsonb_build_object('status', 'lease_lost');
  end if;
  update public.videos
     set extraction_status = 'ROUTED_TO_WORKER',
         routed_to_worker_at = now(),
         routed_reason = left(p_reason, 2000),
         extraction_owner = null,
         extraction_lease_until = null,
         updated_at = now()
   where id = v.id;
  return jsonb_build_object('status', 'marked');
end;
$$;

do $$
begin
  execute 'revoke all on function public.mark_video_routed(text, text, text, text) from public';
  if exists (select 1 from pg_roles where rolname = 'anon') then execute 'revoke all on function public.mark_video_routed(text, text, text, text) from anon'; end if;
  if exists (select 1 from pg_roles where rolname = 'authenticated') then execute 'revoke all on function public.mark_video_routed(text, text, text, text) from authenticated'; end if;
  if exists (select 1 from pg_roles where rolname = 'service_role') then execute 'grant execute on function public.mark_video_routed(text, text, text, text) to service_role'; end if;
end;
$$;
