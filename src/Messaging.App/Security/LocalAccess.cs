using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace Messaging.App.Security;

/// <summary>
/// Who may drive the app: only the browser the worker opened with this launch's link. Other local users and other web
/// pages (in the same browser, or a DNS-rebinding page reaching 127.0.0.1 under a foreign name) are refused.
/// <list type="number">
/// <item>Host header: only <c>127.0.0.1:port</c> and <c>localhost:port</c> (anything else: 400, before any other work).</item>
/// <item>The launch link <c>/launch?key=SECRET</c> (random per launch, accepted once) is exchanged for a session cookie
/// (HttpOnly, SameSite=Strict, Path=/) and redirects to <c>/</c>, so the secret leaves the address bar and history.</item>
/// <item>Every other request without that cookie: 403 with no content.</item>
/// </list>
/// Anti-forgery on every POST is Razor Pages' own (a token bound to a SameSite=Strict cookie); the headers of every
/// response (CSP and the rest) are set by <see cref="SecurityHeaders"/>.
/// </summary>
internal sealed class LocalAccess
{
    public const string CookieName = "messaging-app-session";
    public const string LaunchPath = "/launch";

    private readonly byte[] _launchSecret = RandomNumberGenerator.GetBytes(32);
    private readonly byte[] _sessionToken = RandomNumberGenerator.GetBytes(32);
    private int _launchUsed;

    /// <summary>The listening port, known once Kestrel bound it.</summary>
    public int Port { get; set; }

    /// <summary>The secret of this launch, for the link the app prints and opens (never logged).</summary>
    public string LaunchKey => Base64Url(_launchSecret);

    public Uri LaunchUrl => new($"http://127.0.0.1:{Port}{LaunchPath}?key={LaunchKey}");

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (!IsAllowedHost(context.Request.Host))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        if (context.Request.Path.Equals(LaunchPath, StringComparison.Ordinal))
        {
            Launch(context);
            return;
        }

        if (!HasSession(context.Request))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        await next(context);
    }

    internal bool IsAllowedHost(HostString host)
        => Port != 0 && host.Port == Port
            && (string.Equals(host.Host, "127.0.0.1", StringComparison.Ordinal) || string.Equals(host.Host, "localhost", StringComparison.OrdinalIgnoreCase));

    private void Launch(HttpContext context)
    {
        var given = context.Request.Query["key"].ToString();
        // The link works once: a copy left in another process's arguments (the browser launcher's) is worth nothing after.
        if (!HttpMethods.IsGet(context.Request.Method) || !FixedTimeEquals(given, _launchSecret) || Interlocked.Exchange(ref _launchUsed, 1) == 1)
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        context.Response.Cookies.Append(CookieName, Base64Url(_sessionToken), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            Secure = false, // plain http on the loopback interface: nothing leaves the machine
            IsEssential = true,
        });
        context.Response.Redirect("/");
    }

    private bool HasSession(HttpRequest request)
        => request.Cookies.TryGetValue(CookieName, out var value) && value is not null && FixedTimeEquals(value, _sessionToken);

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
