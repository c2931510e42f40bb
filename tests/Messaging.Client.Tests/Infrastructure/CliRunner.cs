using System.Globalization;
using Messaging.Cli;

namespace Messaging.Client.Tests.Infrastructure;

/// <summary>Runs one CLI command in-process against a device's key store, as a worker would from a shell.</summary>
internal static class CliRunner
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string store, params string[] args)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        var environment = new Dictionary<string, string?>
        {
            ["MESSAGING_PASSPHRASE"] = Platform.Passphrase,
            ["MESSAGING_STORE"] = store,
            ["MESSAGING_KEYSTORE_COST"] = "interactive",
        };
        var cli = new CliApp(output, error, () => throw new InvalidOperationException("no prompt in tests"), name => environment.GetValueOrDefault(name));
        var exitCode = await cli.RunAsync(args);
        return (exitCode, output.ToString(), error.ToString());
    }
}
