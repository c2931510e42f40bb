using System.Runtime.InteropServices;

namespace Messaging.Server.Persistence;

/// <summary>
/// Raises the scheduling priority of the calling thread (Linux: its nice value). The single database writer is the
/// point every durable operation waits on; when the cores are busy, a writer that waits for its turn behind request
/// threads delays every caller at once. Best effort: lowering a nice value needs <c>CAP_SYS_NICE</c> or a
/// <c>RLIMIT_NICE</c> that allows it (systemd: <c>LimitNICE=</c>); without them the writer runs at normal priority.
/// </summary>
internal static class WriterThreadPriority
{
    private const int PrioProcess = 0;

    /// <summary>Sets the calling thread's nice value; returns false (changing nothing) where that is not possible.</summary>
    public static bool TrySetForCurrentThread(int nice)
    {
        if (nice == 0 || !OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            // On Linux, PRIO_PROCESS with a thread id applies to that one thread.
            return SetPriority(PrioProcess, GetThreadId(), nice) == 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    // DllImport rather than LibraryImport: these signatures are blittable and need no marshalling code, and the
    // generator would require unsafe code in the whole project.
    [DllImport("libc", EntryPoint = "setpriority")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SetPriority(int which, int who, int priority);

    [DllImport("libc", EntryPoint = "gettid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int GetThreadId();
}
