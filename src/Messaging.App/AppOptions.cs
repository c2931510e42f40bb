using System.Globalization;

namespace Messaging.App;

/// <summary>
/// How the worker's app was launched: which device (key store) it owns, how long it stays unlocked without use, and
/// whether it opens the browser. Read once from the command line and the environment, at start-up.
/// </summary>
public sealed class AppOptions
{
    public const string Usage = """
        usage: messaging-app [--store PATH] [--idle-lock-minutes N] [--port N] [--no-browser]
          --store PATH            the device's key store (default: MESSAGING_STORE, else ~/.messaging/device.mks);
                                  absent, the app offers enrolment with a code
          --idle-lock-minutes N   ask for the passphrase again after N minutes without use (default 15)
          --port N                listen on 127.0.0.1:N (default: a free port)
          --no-browser            print the address only, do not open the browser
        """;

    public required string StorePath { get; init; }

    public TimeSpan IdleLock { get; init; } = TimeSpan.FromMinutes(15);

    public int Port { get; init; }

    public bool OpenBrowser { get; init; } = true;

    /// <summary>Argon2id cost of a new key store: <c>MESSAGING_KEYSTORE_COST=interactive</c> (tests) lowers it, as in the CLI.</summary>
    public bool InteractiveKeyStoreCost { get; init; }

    /// <summary>Parses the arguments; null (with <paramref name="problem"/>) when they are not understood.</summary>
    public static AppOptions? Parse(IReadOnlyList<string> args, Func<string, string?> environment, out string? problem)
    {
        problem = null;
        string? store = null;
        var idle = TimeSpan.FromMinutes(15);
        var port = 0;
        var browser = true;
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            switch (args[i])
            {
                case "--store" when value is not null:
                    store = value;
                    i++;
                    break;
                case "--idle-lock-minutes" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var minutes) && minutes > 0:
                    idle = TimeSpan.FromMinutes(minutes);
                    i++;
                    break;
                case "--port" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var chosen) && chosen is > 0 and < 65536:
                    port = chosen;
                    i++;
                    break;
                case "--no-browser":
                    browser = false;
                    break;
                default:
                    problem = $"option not understood: {args[i]}";
                    return null;
            }
        }

        store ??= environment("MESSAGING_STORE") is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : Path.Combine(environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".messaging", "device.mks");
        return new AppOptions
        {
            StorePath = Path.GetFullPath(store),
            IdleLock = idle,
            Port = port,
            OpenBrowser = browser,
            InteractiveKeyStoreCost = environment("MESSAGING_KEYSTORE_COST") == "interactive",
        };
    }
}
