using Aida.Cli;

return await AidaCommand.RunAsync(args, Console.Out, Console.Error, CancellationToken.None);
