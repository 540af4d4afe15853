// Command pecd is the reference PEC provider.
package main

func main() {}
