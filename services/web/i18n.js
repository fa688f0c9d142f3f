// Texts of the family page: Indonesian first, English second. t(key, vars) picks the current one.
"use strict";

const TEXTS = {
  id: {
    title: "Kunjungan Video",
    loading: "Membuka kunjungan…",
    camera_starting: "Menyalakan kamera dan mikrofon…",
    camera_ok: "Kamera dan mikrofon siap.",
    camera_denied: "Izin kamera atau mikrofon ditolak. Izinkan akses di pengaturan peramban, lalu tekan Coba lagi.",
    camera_missing: "Kamera atau mikrofon tidak ditemukan. Periksa perangkat Anda, lalu tekan Coba lagi.",
    camera_busy: "Kamera sedang dipakai aplikasi lain. Tutup aplikasi itu, lalu tekan Coba lagi.",
    camera_insecure: "Peramban ini tidak mengizinkan kamera pada alamat ini (perlu https).",
    camera_other: "Kamera tidak dapat dinyalakan.",
    retry: "Coba lagi",
    join_without_camera: "Masuk tanpa kamera",
    waiting_server: "Menghubungkan ke server…",
    waiting_inmate: "Menunggu ruang kunjungan tersambung…",
    connecting_media: "Menyambungkan video…",
    reconnecting: "Sambungan terputus. Menyambung kembali…",
    peer_dropped: "Sambungan pihak lain terputus. Menunggu…",
    remaining: "Sisa waktu",
    warning: "Perhatian: sisa waktu kunjungan {min} menit.",
    warning_s: "Perhatian: sisa waktu kunjungan {sec} detik.",
    hangup: "Akhiri",
    tap_to_play: "Ketuk untuk memutar video",
    hangup_confirm: "Akhiri kunjungan sekarang? Kunjungan tidak dapat dilanjutkan.",
    you: "Anda",
    role_terminal: "Warga binaan",
    role_family: "Keluarga",
    role_teacher: "Guru",
    ended_title: "Kunjungan selesai",
    ended_completed: "Waktu kunjungan telah habis. Terima kasih.",
    ended_terminated: "Kunjungan dihentikan oleh petugas.",
    ended_hangup: "Kunjungan diakhiri karena salah satu pihak keluar.",
    ended_no_show: "Kunjungan tidak berlangsung karena salah satu pihak tidak hadir tepat waktu.",
    ended_failed: "Sambungan video tidak berhasil tersambung. Silakan hubungi petugas.",
    ended_cancelled: "Kunjungan ini dibatalkan.",
    ended_unknown: "Kunjungan telah berakhir.",
    error_title: "Tidak dapat masuk",
    error_unauthorized: "Tautan tidak valid atau sudah tidak berlaku. Periksa kembali tautan dari SMS/WhatsApp Anda.",
    error_token_expired: "Tautan sudah tidak berlaku.",
    error_token_revoked: "Tautan ini sudah dicabut oleh petugas.",
    error_forbidden: "Tautan ini tidak untuk kunjungan ini.",
    error_not_found: "Kunjungan tidak ditemukan.",
    error_visit_full: "Kunjungan ini sudah penuh.",
    error_visit_over: "Kunjungan ini sudah selesai atau dibatalkan.",
    error_visit_under_review: "Kunjungan ini sedang ditinjau petugas karena data warga binaan berubah. Silakan hubungi lapas/rutan.",
    error_visit_not_open: "Kunjungan belum dibuka. Halaman ini akan masuk sendiri pukul {time}.",
    error_replaced: "Kunjungan ini dibuka di tab atau perangkat lain.",
    error_network: "Tidak dapat menghubungi server. Mencoba lagi…",
    error_other: "Terjadi kesalahan. Silakan muat ulang halaman.",
    notice_dress_code: "Pesan petugas: mohon berpakaian sopan.",
    notice_unregistered_person: "Pesan petugas: ada orang yang tidak terdaftar di layar.",
    notice_behaviour: "Pesan petugas: mohon jaga sikap dan bahasa.",
    notice_time_check: "Pesan petugas: perhatikan sisa waktu.",
    notice_audio_only: "Pesan petugas: kunjungan dilanjutkan dengan suara saja.",
  },
  en: {
    title: "Video Visit",
    loading: "Opening the visit…",
    camera_starting: "Starting camera and microphone…",
    camera_ok: "Camera and microphone are ready.",
    camera_denied: "Camera or microphone permission was denied. Allow access in the browser settings, then press Try again.",
    camera_missing: "No camera or microphone found. Check your device, then press Try again.",
    camera_busy: "The camera is used by another app. Close that app, then press Try again.",
    camera_insecure: "This browser does not allow the camera on this address (https is needed).",
    camera_other: "The camera could not be started.",
    retry: "Try again",
    join_without_camera: "Join without camera",
    waiting_server: "Connecting to the server…",
    waiting_inmate: "Waiting for the visit room to connect…",
    connecting_media: "Connecting video…",
    reconnecting: "Connection lost. Reconnecting…",
    peer_dropped: "The other side lost its connection. Waiting…",
    remaining: "Time left",
    warning: "Attention: {min} minutes of the visit left.",
    warning_s: "Attention: {sec} seconds of the visit left.",
    hangup: "End",
    tap_to_play: "Tap to play the video",
    hangup_confirm: "End the visit now? It cannot be resumed.",
    you: "You",
    role_terminal: "Inmate",
    role_family: "Family",
    role_teacher: "Teacher",
    ended_title: "The visit is over",
    ended_completed: "The visit time is over. Thank you.",
    ended_terminated: "The visit was ended by an officer.",
    ended_hangup: "The visit ended because a participant left.",
    ended_no_show: "The visit did not take place: a participant did not join in time.",
    ended_failed: "The video connection could not be established. Please contact the officers.",
    ended_cancelled: "This visit was cancelled.",
    ended_unknown: "The visit has ended.",
    error_title: "Cannot join",
    error_unauthorized: "The link is invalid or no longer valid. Check the link in your SMS/WhatsApp.",
    error_token_expired: "The link is no longer valid.",
    error_token_revoked: "This link was revoked by the officers.",
    error_forbidden: "This link is not for this visit.",
    error_not_found: "The visit was not found.",
    error_visit_full: "This visit is full.",
    error_visit_over: "This visit is over or was cancelled.",
    error_visit_under_review: "An officer is reviewing this visit because the inmate's record changed. Please contact the facility.",
    error_visit_not_open: "The visit has not opened yet. This page will join by itself at {time}.",
    error_replaced: "This visit was opened in another tab or device.",
    error_network: "Cannot reach the server. Retrying…",
    error_other: "Something went wrong. Please reload the page.",
    notice_dress_code: "Officer's notice: please dress appropriately.",
    notice_unregistered_person: "Officer's notice: an unregistered person is in view.",
    notice_behaviour: "Officer's notice: please mind your behaviour and language.",
    notice_time_check: "Officer's notice: mind the time left.",
    notice_audio_only: "Officer's notice: the visit continues with audio only.",
  },
};

function pickLanguage() {
  const saved = localStorage.getItem("tatap.lang");
  if (saved && TEXTS[saved]) return saved;
  const wanted = (navigator.languages || [navigator.language || "id"]).map((l) => l.slice(0, 2));
  return wanted.find((l) => l === "id" || l === "en") || "id";
}

let LANG = pickLanguage();

function t(key, vars) {
  let text = (TEXTS[LANG] && TEXTS[LANG][key]) || TEXTS.id[key] || key;
  for (const [name, value] of Object.entries(vars || {})) text = text.replace(`{${name}}`, value);
  return text;
}

function setLanguage(lang) {
  if (!TEXTS[lang]) return;
  LANG = lang;
  localStorage.setItem("tatap.lang", lang);
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) {
    el.textContent = el.dataset.t ? t(el.dataset.t, JSON.parse(el.dataset.vars || "{}")) : "";
  }
  for (const el of document.querySelectorAll("[data-lang]")) {
    el.setAttribute("aria-pressed", String(el.dataset.lang === lang));
  }
}

// Show a text by key; it follows later language switches.
function say(el, key, vars) {
  el.dataset.t = key || "";
  el.dataset.vars = JSON.stringify(vars || {});
  el.textContent = key ? t(key, vars) : "";
}
