//! Ward's thin layer over FFmpeg's libraries (libavformat, libavcodec, libswscale): open a
//! file's first video stream, hand out its packets one by one, decode the ones Ward sends,
//! and convert frames to RGB24 the way Meta's vPDQ reference does. Everything else (which
//! packets to send, how frames are numbered, limits, errors) is decided in Rust (libav.rs).
//!
//! The structures of FFmpeg change from one major version to the next; compiling this file
//! against the installed headers is what keeps Ward's view of them right, so Rust never
//! touches an FFmpeg structure directly.

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

// Return codes shared with libav.rs.
#define WARD_AV_OK 0
#define WARD_AV_END 1
#define WARD_AV_AGAIN 2
#define WARD_AV_FAILED -1
#define WARD_AV_NO_VIDEO -2
#define WARD_AV_TOO_LARGE -3
#define WARD_AV_NO_DECODER -4
#define WARD_AV_NO_MEMORY -5
#define WARD_AV_FRAME_SIZE -6

// The demuxers Ward opens: those of the containers `video::sniff` recognises.
#define WARD_AV_FORMATS "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,asf,mpeg,mpegts"

// What FFmpeg said at error level on this thread since the last open: the demuxer and the
// decoder's entry points run on the calling thread, so their messages land here (a frame
// thread's do not, and are dropped). FFmpeg's default callback would print them on standard
// error instead.
static __thread char messages[1024];
static __thread size_t messages_len;

static void capture_message(void *context, int level, const char *format, va_list args) {
    (void)context;
    if (level > AV_LOG_ERROR || messages_len + 1 >= sizeof messages) {
        return;
    }
    int n = vsnprintf(messages + messages_len, sizeof messages - messages_len, format, args);
    if (n > 0) {
        messages_len += (size_t)n;
        if (messages_len >= sizeof messages) {
            messages_len = sizeof messages - 1;
        }
    }
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void install_log_callback(void) {
    av_log_set_callback(capture_message);
}

/// Copies what FFmpeg said at error level on this thread (NUL-terminated, cut to `len`).
void ward_av_messages(char *out, size_t len) {
    if (len == 0) {
        return;
    }
    size_t n = messages_len < len - 1 ? messages_len : len - 1;
    memcpy(out, messages, n);
    out[n] = 0;
}

/// Turns an FFmpeg error code into its text.
void ward_av_strerror(int code, char *out, size_t len) {
    if (av_strerror(code, out, len) < 0 && len > 0) {
        snprintf(out, len, "error %d", code);
    }
}

typedef struct ward_av_info {
    int width;
    int height;
    // The average frame rate, else the real base rate, as the reference takes it.
    int fps_num;
    int fps_den;
    // Seconds (the stream's, else the container's); negative when unknown.
    double duration;
    // Frames the container declares; 0 when unknown.
    int64_t frames;
    // 1 for H.264, 2 for HEVC, 0 for anything else.
    int codec;
    // H.264 or HEVC in MP4/Matroska form: the size of each NAL unit's length prefix (1, 2
    // or 4); 0 when NAL units are separated by start codes.
    int nal_length_size;
    // HEVC in MP4/Matroska form: the temporal sub-layers its configuration record declares
    // (0 when it does not say).
    int temporal_layers;
    // FFmpeg's error code behind WARD_AV_FAILED.
    int error;
} ward_av_info;

typedef struct ward_av {
    AVFormatContext *format;
    AVCodecContext *codec;
    struct SwsContext *sws;
    AVPacket *packet;
    AVFrame *frame;
    int stream;
    int width;
    int height;
    // The source the scaler was made for.
    int sws_width;
    int sws_height;
    int sws_format;
} ward_av;

void ward_av_close(ward_av *v) {
    if (v == NULL) {
        return;
    }
    sws_freeContext(v->sws);
    av_frame_free(&v->frame);
    av_packet_free(&v->packet);
    avcodec_free_context(&v->codec);
    avformat_close_input(&v->format);
    av_free(v);
}

static int too_large(int width, int height, uint64_t max_pixels) {
    return width > 0 && height > 0 && (uint64_t)width * (uint64_t)height > max_pixels;
}

/// Opens `path`'s first video stream, as the reference does: the container's header and
/// stream information, the stream's decoder on FFmpeg's automatic thread count (`threads`
/// 0), and a scaler from the decoder's format to RGB24 with area averaging at the stream's
/// size. With `decode` 0, only the header, for the packets: no stream information (which
/// decodes a few frames) and no decoder. Refuses frames of more than `max_pixels` before
/// anything decodes them.
int ward_av_open(const char *path, int decode, int threads, uint64_t max_pixels,
                 ward_av **out, ward_av_info *info) {
    pthread_once(&log_once, install_log_callback);
    messages_len = 0;
    messages[0] = 0;
    memset(info, 0, sizeof *info);
    info->duration = -1.0;
    *out = NULL;

    ward_av *v = av_mallocz(sizeof *v);
    if (v == NULL) {
        return WARD_AV_NO_MEMORY;
    }
    v->stream = -1;
    // Local files only, in the containers Ward recognises: a hostile file must not make the
    // demuxer fetch a URL or read another file (playlists, concatenation scripts, references
    // to external media).
    AVDictionary *options = NULL;
    av_dict_set(&options, "protocol_whitelist", "file", 0);
    av_dict_set(&options, "format_whitelist", WARD_AV_FORMATS, 0);
    int ret = avformat_open_input(&v->format, path, NULL, &options);
    av_dict_free(&options);
    if (ret < 0) {
        info->error = ret;
        ward_av_close(v);
        return WARD_AV_FAILED;
    }
    // The header alone gives the size in most containers: refuse a bomb before the stream
    // information decodes its first frames.
    for (unsigned i = 0; i < v->format->nb_streams; i++) {
        AVCodecParameters *p = v->format->streams[i]->codecpar;
        if (p->codec_type == AVMEDIA_TYPE_VIDEO && too_large(p->width, p->height, max_pixels)) {
            info->width = p->width;
            info->height = p->height;
            ward_av_close(v);
            return WARD_AV_TOO_LARGE;
        }
    }
    ret = decode ? avformat_find_stream_info(v->format, NULL) : 0;
    if (ret < 0) {
        info->error = ret;
        ward_av_close(v);
        return WARD_AV_FAILED;
    }
    for (unsigned i = 0; i < v->format->nb_streams; i++) {
        if (v->format->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
            v->stream = (int)i;
            break;
        }
    }
    if (v->stream < 0) {
        ward_av_close(v);
        return WARD_AV_NO_VIDEO;
    }
    AVStream *stream = v->format->streams[v->stream];
    AVCodecParameters *par = stream->codecpar;
    v->width = info->width = par->width;
    v->height = info->height = par->height;
    if (too_large(par->width, par->height, max_pixels)) {
        ward_av_close(v);
        return WARD_AV_TOO_LARGE;
    }
    AVRational rate = stream->avg_frame_rate;
    if (rate.num == 0 || rate.den == 0) {
        rate = stream->r_frame_rate;
    }
    info->fps_num = rate.num;
    info->fps_den = rate.den;
    if (stream->duration != AV_NOPTS_VALUE && stream->duration >= 0) {
        info->duration = (double)stream->duration * av_q2d(stream->time_base);
    } else if (v->format->duration != AV_NOPTS_VALUE && v->format->duration >= 0) {
        info->duration = (double)v->format->duration / AV_TIME_BASE;
    }
    info->frames = stream->nb_frames;
    if (par->codec_id == AV_CODEC_ID_H264) {
        info->codec = 1;
        // An avcC record (version 1) gives the length prefix size; Annex B has start codes.
        if (par->extradata_size >= 7 && par->extradata[0] == 1) {
            info->nal_length_size = (par->extradata[4] & 3) + 1;
        }
    } else if (par->codec_id == AV_CODEC_ID_HEVC) {
        info->codec = 2;
        // An hvcC record (version 1): byte 21 holds numTemporalLayers (3 bits) and
        // lengthSizeMinusOne (the low 2 bits).
        if (par->extradata_size >= 23 && par->extradata[0] == 1) {
            info->nal_length_size = (par->extradata[21] & 3) + 1;
            info->temporal_layers = (par->extradata[21] >> 3) & 7;
        }
    }
    v->packet = av_packet_alloc();
    if (v->packet == NULL) {
        ward_av_close(v);
        return WARD_AV_NO_MEMORY;
    }
    if (!decode) {
        *out = v;
        return WARD_AV_OK;
    }

    if (par->width <= 0 || par->height <= 0) {
        ward_av_close(v);
        return WARD_AV_NO_VIDEO;
    }
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (codec == NULL) {
        ward_av_close(v);
        return WARD_AV_NO_DECODER;
    }
    v->codec = avcodec_alloc_context3(codec);
    v->frame = av_frame_alloc();
    if (v->codec == NULL || v->frame == NULL) {
        ward_av_close(v);
        return WARD_AV_NO_MEMORY;
    }
    ret = avcodec_parameters_to_context(v->codec, par);
    if (ret < 0) {
        info->error = ret;
        ward_av_close(v);
        return WARD_AV_FAILED;
    }
    // Frame threads (FFmpeg's default type) on FFmpeg's automatic count: the same frames as
    // one thread, sooner. The reference asks for slice threads, which these codecs fall back
    // from to one thread for single-slice streams.
    v->codec->thread_count = threads;
    v->codec->pkt_timebase = stream->time_base;
    ret = avcodec_open2(v->codec, codec, NULL);
    if (ret < 0) {
        info->error = ret;
        ward_av_close(v);
        return WARD_AV_FAILED;
    }
    v->sws_width = v->codec->width;
    v->sws_height = v->codec->height;
    v->sws_format = v->codec->pix_fmt;
    if (v->sws_format != AV_PIX_FMT_NONE) {
        v->sws = sws_getContext(v->sws_width, v->sws_height, v->sws_format, v->width, v->height,
                                AV_PIX_FMT_RGB24, SWS_AREA, NULL, NULL, NULL);
    }
    *out = v;
    return WARD_AV_OK;
}

/// Reads the video stream's next packet: WARD_AV_OK with its bytes, presentation time
/// (AV_NOPTS_VALUE when unknown) and FFmpeg's packet flags (key frame, discard), valid
/// until the next read; WARD_AV_END at the end of the file; WARD_AV_FAILED with the error
/// code in `*error`.
int ward_av_read(ward_av *v, const uint8_t **data, int *size, int64_t *pts, int *flags,
                 int *error) {
    for (;;) {
        av_packet_unref(v->packet);
        int ret = av_read_frame(v->format, v->packet);
        if (ret == AVERROR_EOF) {
            return WARD_AV_END;
        }
        if (ret < 0) {
            *error = ret;
            return WARD_AV_FAILED;
        }
        if (v->packet->stream_index != v->stream) {
            continue;
        }
        *data = v->packet->data;
        *size = v->packet->size;
        *pts = v->packet->pts;
        *flags = v->packet->flags;
        return WARD_AV_OK;
    }
}

/// The decoder's answer in this layer's codes (FFmpeg's own in `*error` on failure).
static int answer(int ret, int *error) {
    if (ret == AVERROR(EAGAIN)) {
        return WARD_AV_AGAIN;
    }
    if (ret == AVERROR_EOF) {
        return WARD_AV_END;
    }
    if (ret < 0) {
        *error = ret;
        return WARD_AV_FAILED;
    }
    return WARD_AV_OK;
}

/// Sends the packet last read to the decoder (`flush` 0), or tells it the stream has ended
/// (`flush` 1). WARD_AV_AGAIN when the decoder must give frames first; WARD_AV_FAILED with
/// the error code for a packet it refuses.
int ward_av_send(ward_av *v, int flush, int *error) {
    return answer(avcodec_send_packet(v->codec, flush ? NULL : v->packet), error);
}

/// Takes the decoder's next frame: WARD_AV_OK with its presentation time, WARD_AV_AGAIN
/// when it needs more packets, WARD_AV_END when it is drained, WARD_AV_FAILED with the
/// error code.
int ward_av_receive(ward_av *v, int64_t *pts, int *error) {
    int code = answer(avcodec_receive_frame(v->codec, v->frame), error);
    if (code == WARD_AV_OK) {
        *pts = v->frame->pts;
    }
    return code;
}

/// Converts the frame last received to RGB24 in `rgb` (the stream's width times 3 bytes a
/// row, its height rows), as the reference does: swscale with area averaging and its
/// default (BT.601) matrix. WARD_AV_FRAME_SIZE for a frame whose size is not the stream's
/// (the reference's scaler would read outside it).
int ward_av_convert(ward_av *v, uint8_t *rgb) {
    AVFrame *f = v->frame;
    if (f->width != v->sws_width || f->height != v->sws_height) {
        return WARD_AV_FRAME_SIZE;
    }
    if (v->sws == NULL || f->format != v->sws_format) {
        // A decoder that only learns its output format from the first frame.
        sws_freeContext(v->sws);
        v->sws_format = f->format;
        v->sws = sws_getContext(f->width, f->height, f->format, v->width, v->height,
                                AV_PIX_FMT_RGB24, SWS_AREA, NULL, NULL, NULL);
        if (v->sws == NULL) {
            return WARD_AV_NO_DECODER;
        }
    }
    uint8_t *planes[4] = {rgb, NULL, NULL, NULL};
    int strides[4] = {v->width * 3, 0, 0, 0};
    sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, planes,
              strides);
    return WARD_AV_OK;
}
