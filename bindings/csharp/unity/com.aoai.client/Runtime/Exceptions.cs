// Status codes become exceptions (LibGit2Sharp's Ensure pattern). The error detail is copied out
// of the native AoaiError at once, on the thread that made the call, before anything else runs.
using System;
using System.Collections.Generic;
using System.Threading;

namespace Aoai
{
    /// <summary>A failure reported by the aoai library or the service.</summary>
    public class AoaiException : Exception
    {
        private readonly ErrorInfo _info;

        internal AoaiException(ErrorInfo info, Exception inner)
            : base(info.Message, inner)
        {
            _info = info;
        }

        internal ErrorInfo Info { get { return _info; } }

        /// <summary>The library status.</summary>
        public AoaiStatus Status { get { return _info.Status; } }
        /// <summary>HTTP status of the failing response; 0 when there was none.</summary>
        public int HttpStatus { get { return _info.HttpStatus; } }
        /// <summary>Service error code ("content_filter", "DeploymentNotFound", "401", ...), or null.</summary>
        public string ErrorCode { get { return _info.Code; } }
        /// <summary>OpenAI error type ("invalid_request_error"), or null.</summary>
        public string ErrorType { get { return _info.Type; } }
        /// <summary>OpenAI error param ("prompt", "messages"), or null.</summary>
        public string ErrorParam { get { return _info.Param; } }
        /// <summary>Request id of the failing response (apim-request-id, else x-request-id), or null.</summary>
        public string RequestId { get { return _info.RequestId; } }
        /// <summary>HTTP attempts made (1 + retries); 0 when no request was sent.</summary>
        public int Attempts { get { return _info.Attempts; } }
        /// <summary>The raw error body of the service, or null.</summary>
        public string ResponseBody { get { return _info.Body; } }
        /// <summary>Server retry hint, or null when it gave none.</summary>
        public TimeSpan? RetryAfterHint { get { return _info.RetryAfterMs >= 0 ? TimeSpan.FromMilliseconds(_info.RetryAfterMs) : (TimeSpan?)null; } }

        /// <summary>A header of the failing response (rate-limit and request-id headers are kept), or null.</summary>
        public string GetResponseHeader(string name)
        {
            string v;
            return name != null && _info.Headers.TryGetValue(name, out v) ? v : null;
        }
    }

    /// <summary>401/403, or no token could be obtained (Status Authentication, PermissionDenied, Credential).</summary>
    public class AoaiAuthenticationException : AoaiException
    {
        internal AoaiAuthenticationException(ErrorInfo info, Exception inner) : base(info, inner) { }
    }

    /// <summary>429: rate limit or quota.</summary>
    public class AoaiRateLimitException : AoaiException
    {
        internal AoaiRateLimitException(ErrorInfo info, Exception inner) : base(info, inner) { }
        /// <summary>How long the service asked to wait, or null when it did not say.</summary>
        public TimeSpan? RetryAfter { get { return RetryAfterHint; } }
    }

    /// <summary>The prompt or the completion was blocked by the content filter.</summary>
    public class AoaiContentFilterException : AoaiException
    {
        internal AoaiContentFilterException(ErrorInfo info, Exception inner) : base(info, inner) { }
        /// <summary>The categories that blocked it ("violence", "hate", "jailbreak", ...).</summary>
        public string[] Categories { get { return (string[])Info.Categories.Clone(); } }
    }

    /// <summary>404: unknown deployment, model, api-version or path.</summary>
    public class AoaiNotFoundException : AoaiException
    {
        internal AoaiNotFoundException(ErrorInfo info, Exception inner) : base(info, inner) { }
    }

    /// <summary>A time limit was reached (the message says which).</summary>
    public class AoaiTimeoutException : AoaiException
    {
        internal AoaiTimeoutException(ErrorInfo info, Exception inner) : base(info, inner) { }
    }

    /// <summary>Everything the library said about one failure, copied into managed memory.</summary>
    internal sealed class ErrorInfo
    {
        internal static readonly string[] KeptHeaders = {
            "retry-after", "retry-after-ms", "x-ms-retry-after-ms",
            "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
            "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens",
            "apim-request-id", "x-request-id", "x-ms-region", "content-type",
        };

        internal AoaiStatus Status;
        internal string Message;
        internal int HttpStatus;
        internal string Code;
        internal string Type;
        internal string Param;
        internal string RequestId;
        internal long RetryAfterMs = -1;
        internal string[] Categories = new string[0];
        internal string Body;
        internal int Attempts;
        internal Dictionary<string, string> Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        /// <summary>Copies an AoaiError (the thread's last error, or an operation's).</summary>
        internal static unsafe ErrorInfo Read(IntPtr err)
        {
            var e = new ErrorInfo();
            UIntPtr len;
            e.Status = (AoaiStatus)Native.aoai_error_status(err);
            e.Message = Utf8.Read(Native.aoai_error_message(err, &len), len);
            e.HttpStatus = Native.aoai_error_http_status(err);
            e.Code = Utf8.Read(Native.aoai_error_code(err, &len), len);
            e.Type = Utf8.Read(Native.aoai_error_type(err, &len), len);
            e.Param = Utf8.Read(Native.aoai_error_param(err, &len), len);
            e.RequestId = Utf8.Read(Native.aoai_error_request_id(err, &len), len);
            e.RetryAfterMs = Native.aoai_error_retry_after_ms(err);
            e.Categories = SplitList(Utf8.Read(Native.aoai_error_filtered_categories(err, &len), len));
            e.Body = Utf8.Read(Native.aoai_error_body(err, &len), len);
            e.Attempts = Native.aoai_error_attempts(err);
            if (e.HttpStatus != 0)
            {
                foreach (string h in KeptHeaders)
                {
                    byte[] name = Utf8.Encode(h, "name");
                    fixed (byte* n = name)
                    {
                        string v = Utf8.Read(Native.aoai_error_header(err, n, &len), len);
                        if (v != null) e.Headers[h] = v;
                    }
                }
            }
            return e;
        }

        internal static string[] SplitList(string commaSeparated)
        {
            if (string.IsNullOrEmpty(commaSeparated)) return new string[0];
            var parts = commaSeparated.Split(',');
            var list = new List<string>(parts.Length);
            foreach (var p in parts)
            {
                var t = p.Trim();
                if (t.Length > 0) list.Add(t);
            }
            return list.ToArray();
        }
    }

    internal static class Errors
    {
        /// <summary>Throws the exception for a non-OK status, reading the calling thread's last error.
        /// Call it right after the native call, on the same thread.</summary>
        internal static void Check(int status)
        {
            if (status != Native.AOAI_STATUS_OK) throw FromLast(status, null);
        }

        /// <summary>The exception for <paramref name="status"/> from aoai_last_error(). The returned
        /// status is the truth; the last error adds the detail.</summary>
        internal static Exception FromLast(int status, Exception inner)
        {
            ErrorInfo info = ErrorInfo.Read(Native.aoai_last_error());
            if ((int)info.Status != status)
            {
                // The detail belongs to another call: keep only what the status says.
                info = new ErrorInfo { Status = (AoaiStatus)status, Message = StatusText(status) };
            }
            return Create(info, inner, CancellationToken.None);
        }

        /// <summary>The exception of a failed or cancelled operation (its own error object).</summary>
        internal static Exception FromOperation(IntPtr op, CancellationToken ct)
        {
            IntPtr err = Native.aoai_op_error(op);
            ErrorInfo info = err != IntPtr.Zero
                ? ErrorInfo.Read(err)
                : new ErrorInfo { Status = AoaiStatus.Cancelled, Message = "the operation was cancelled" };
            return Create(info, null, ct);
        }

        internal static string StatusText(int status)
        {
            return Utf8.ReadZ(Native.aoai_status_str(status));
        }

        internal static Exception Create(ErrorInfo info, Exception inner, CancellationToken ct)
        {
            switch (info.Status)
            {
                case AoaiStatus.Cancelled:
                    return ct.IsCancellationRequested
                        ? new OperationCanceledException(info.Message, new AoaiException(info, inner), ct)
                        : new OperationCanceledException(info.Message, new AoaiException(info, inner));
                case AoaiStatus.NullArgument:
                case AoaiStatus.InvalidArgument:
                case AoaiStatus.InvalidUtf8:
                case AoaiStatus.InvalidJson:
                case AoaiStatus.InvalidConfig:
                    return new ArgumentException(info.Message, new AoaiException(info, inner));
                case AoaiStatus.InvalidState:
                case AoaiStatus.WrongThread:
                    return new InvalidOperationException(info.Message, new AoaiException(info, inner));
                case AoaiStatus.Authentication:
                case AoaiStatus.PermissionDenied:
                case AoaiStatus.Credential:
                    return new AoaiAuthenticationException(info, inner);
                case AoaiStatus.RateLimited:
                    return new AoaiRateLimitException(info, inner);
                case AoaiStatus.ContentFiltered:
                    return new AoaiContentFilterException(info, inner);
                case AoaiStatus.NotFound:
                    return new AoaiNotFoundException(info, inner);
                case AoaiStatus.Timeout:
                    return new AoaiTimeoutException(info, inner);
                default:
                    return new AoaiException(info, inner);
            }
        }
    }
}
