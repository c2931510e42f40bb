using Messaging.Cli;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

return await new CliApp(Console.Out, Console.Error, CliApp.ConsolePassphrase, Environment.GetEnvironmentVariable).RunAsync(args, stop.Token);
