using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace Messaging.App.Security;

/// <summary>
/// Who may drive the app: only the browser the worker opened with this launch's secret. Other local users and other web
/// pages (in the same browser, or a DNS-rebinding page reaching 127.0.0.1 under a foreign name) are refused.
/// <list type="number">
/// <item>Host header: only <c>127.0.0.1:port</c> and <c>localhost:port</c> (anything else: 400, before any other work).</item>
/// <item>The launch secret (random per launch, accepted once) is exchanged at <c>/launch</c> for a session cookie
/// (HttpOnly, SameSite=Strict, Path=/). The browser the app opens posts it from a local file only the worker can read
/// (<see cref="LaunchPage"/>): never in a process's arguments or a URL. The printed link <c>/launch?key=SECRET</c> works
/// too, for a worker who opens it by hand; it redirects to <c>/</c>, so the secret leaves the address bar.</item>
/// <item>Every other request without the current session cookie: 403 with no content.</item>
/// <item>Unlocking or enrolling the device issues a new session token (<see cref="StartNewSession"/>): a cookie obtained
/// or planted before (a copy of the launch secret raced, a cookie set by another loopback port, which is same-site)
/// opens nothing once the worker gave the passphrase.</item>
/// </list>
/// Anti-forgery on every POST is Razor Pages' own (a token bound to a SameSite=Strict cookie); the headers of every
/// response (CSP and the rest) are set by <see cref="SecurityHeaders"/>.
/// </summary>
public sealed class LocalAccess
{
    public const string CookieName = "messaging-app-session";
    public const string LaunchPath = "/launch";

    /// <summary>A launch form is a few dozen bytes: anything much larger is not one, and is not read.</summary>
    private const int MaxLaunchForm = 1024;

    private static readonly CookieOptions SessionCookie = new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Path = "/",
        Secure = false, // plain http on the loopback interface: nothing leaves the machine
        IsEssential = true,
    };

    private readonly byte[] _launchSecret = RandomNumberGenerator.GetBytes(32);
    private readonly TaskCompletionSource _launched = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _sessionToken;
    private int _launchUsed;

    /// <summary>The listening port, known once Kestrel bound it.</summary>
    public int Port { get; set; }

    /// <summary>The secret of this launch, for the link the app prints and the page it opens (never logged).</summary>
    public string LaunchKey => Base64Url(_launchSecret);

    public Uri LaunchUrl => new($"http://127.0.0.1:{Port}{LaunchPath}?key={LaunchKey}");

    /// <summary>Where the launch page posts the secret.</summary>
    public Uri LaunchEndpoint => new($"http://127.0.0.1:{Port}{LaunchPath}");

    /// <summary>Completes when the secret was used (the launch page can go).</summary>
    public Task Launched => _launched.Task;

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (!IsAllowedHost(context.Request.Host))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        if (context.Request.Path.Equals(LaunchPath, StringComparison.Ordinal))
        {
            await LaunchAsync(context);
            return;
        }

        if (!HasSession(context.Request))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        await next(context);
    }

    /// <summary>Gives the browser of this response a new session token; the previous one opens nothing any more.</summary>
    public void StartNewSession(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var token = RandomNumberGenerator.GetBytes(32);
        Volatile.Write(ref _sessionToken, token);
        response.Cookies.Append(CookieName, Base64Url(token), SessionCookie);
    }

    internal bool IsAllowedHost(HostString host)
        => Port != 0 && host.Port == Port
            && (string.Equals(host.Host, "127.0.0.1", StringComparison.Ordinal) || string.Equals(host.Host, "localhost", StringComparison.OrdinalIgnoreCase));

    private async Task LaunchAsync(HttpContext context)
    {
        var given = await GivenKeyAsync(context.Request, context.RequestAborted);
        // The secret works once: a copy of it (the printed link in a history) is worth nothing after.
        if (given is null || !FixedTimeEquals(given, _launchSecret) || Interlocked.Exchange(ref _launchUsed, 1) == 1)
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        StartNewSession(context.Response);
        _launched.TrySetResult();
        if (HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.Redirect("/");
            return;
        }

        // Posted by the launch page, a local file: the browser counts that navigation as cross-site, and would not send a
        // SameSite=Strict cookie on a redirect that follows it. A refresh started by this page (same site) does.
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(
            "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0; url=/\">" +
            "<title>Messaging</title></head><body><p><a href=\"/\">Messaging</a></p></body></html>", context.RequestAborted);
    }

    /// <summary>The secret as the printed link (GET, <c>?key=</c>) or the launch page (POST, a small form) gives it.</summary>
    private static async Task<string?> GivenKeyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (HttpMethods.IsGet(request.Method))
        {
            return request.Query["key"].ToString();
        }

        if (HttpMethods.IsPost(request.Method) && request.HasFormContentType && request.ContentLength is > 0 and <= MaxLaunchForm)
        {
            var form = await request.ReadFormAsync(cancellationToken);
            return form["key"].ToString();
        }

        return null;
    }

    private bool HasSession(HttpRequest request)
        => Volatile.Read(ref _sessionToken) is { } token
            && request.Cookies.TryGetValue(CookieName, out var value) && value is not null && FixedTimeEquals(value, token);

    private static bool FixedTimeEquals(string given, byte[] expected)
    {
        var bytes = Encoding.ASCII.GetBytes(given);
        var wanted = Encoding.ASCII.GetBytes(Base64Url(expected));
        return CryptographicOperations.FixedTimeEquals(bytes, wanted);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>The headers of every response: a strict Content-Security-Policy (scripts, styles and images from the app
/// only; no inline script, no framing), no MIME sniffing, no referrer, and nothing cached (pages show decrypted content).</summary>
internal static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            // A response may only narrow it (the printable certificate sets its own, which allows nothing but its style).
            if (string.IsNullOrEmpty(headers.ContentSecurityPolicy))
            {
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
            }

            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            headers["Cross-Origin-Resource-Policy"] = "same-origin";
            headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()";
            headers.CacheControl = "no-store";
            headers.Pragma = "no-cache";
            return Task.CompletedTask;
        });
        // Kestrel's Server header tells nothing useful to a page that should not be talking to us at all.
        context.Features.Get<IHttpResponseFeature>()?.Headers.Remove("Server");
        return next(context);
    }
}
